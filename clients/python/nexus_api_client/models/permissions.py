from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Permissions")


@_attrs_define
class Permissions:
    """What a key may do, as the venue reported it when the key was added."""

    read: bool
    """ May read balances and orders. """
    trade: bool
    """ May trade (required). """
    withdraw: bool
    """ May withdraw funds: Nexus never needs this; a key that can is a risk. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        read = self.read

        trade = self.trade

        withdraw = self.withdraw

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "read": read,
                "trade": trade,
                "withdraw": withdraw,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        read = d.pop("read")

        trade = d.pop("trade")

        withdraw = d.pop("withdraw")

        permissions = cls(
            read=read,
            trade=trade,
            withdraw=withdraw,
        )

        permissions.additional_properties = d
        return permissions

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
