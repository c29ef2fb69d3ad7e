from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.exchange import Exchange
from ..types import UNSET, Unset

T = TypeVar("T", bound="NewKey")


@_attrs_define
class NewKey:
    """`POST /exchange-keys`.

    Example:
        {'exchange': 'paper', 'key': 'paper', 'label': 'Practice', 'passphrase': None, 'secret': 'paper'}

    """

    exchange: Exchange
    """ A venue. """
    key: str
    """ The API key (Coinbase: the CDP key name `organizations/…/apiKeys/…`); up to 512
    characters. Paper ignores it: a Paper account is named after its owner. """
    secret: str
    """ The API secret (Coinbase: the EC private key in PEM), up to 8192 characters. Never
    returned. """
    passphrase: None | str | Unset = UNSET
    """ A passphrase, on venues that use one. Never returned. """
    label: None | str | Unset = UNSET
    """ Your name for the key (its first 100 characters); the venue's name by default. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        exchange = self.exchange.value

        key = self.key

        secret = self.secret

        passphrase: None | str | Unset
        if isinstance(self.passphrase, Unset):
            passphrase = UNSET
        else:
            passphrase = self.passphrase

        label: None | str | Unset
        if isinstance(self.label, Unset):
            label = UNSET
        else:
            label = self.label

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "exchange": exchange,
                "key": key,
                "secret": secret,
            }
        )
        if passphrase is not UNSET:
            field_dict["passphrase"] = passphrase
        if label is not UNSET:
            field_dict["label"] = label

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        exchange = Exchange(d.pop("exchange"))

        key = d.pop("key")

        secret = d.pop("secret")

        def _parse_passphrase(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        passphrase = _parse_passphrase(d.pop("passphrase", UNSET))

        def _parse_label(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        label = _parse_label(d.pop("label", UNSET))

        new_key = cls(
            exchange=exchange,
            key=key,
            secret=secret,
            passphrase=passphrase,
            label=label,
        )

        new_key.additional_properties = d
        return new_key

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
