from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.exchange import Exchange

if TYPE_CHECKING:
    from ..models.permissions import Permissions


T = TypeVar("T", bound="KeyInfo")


@_attrs_define
class KeyInfo:
    """A stored key, without its secret."""

    id: UUID
    """ Its id. """
    exchange: Exchange
    """ A venue. """
    label: str
    """ Your name for it. """
    masked_key: str
    """ The key with all but its first and last four characters hidden. """
    permissions: Permissions
    """ What a key may do, as the venue reported it when the key was added. """
    warnings: list[str]
    """ Risks worth acting on (a key that may withdraw). """
    created_at: datetime.datetime
    """ When it was added. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        exchange = self.exchange.value

        label = self.label

        masked_key = self.masked_key

        permissions = self.permissions.to_dict()

        warnings = self.warnings

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "exchange": exchange,
                "label": label,
                "masked_key": masked_key,
                "permissions": permissions,
                "warnings": warnings,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.permissions import Permissions  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        exchange = Exchange(d.pop("exchange"))

        label = d.pop("label")

        masked_key = d.pop("masked_key")

        permissions = Permissions.from_dict(d.pop("permissions"))

        warnings = cast(list[str], d.pop("warnings"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        key_info = cls(
            id=id,
            exchange=exchange,
            label=label,
            masked_key=masked_key,
            permissions=permissions,
            warnings=warnings,
            created_at=created_at,
        )

        key_info.additional_properties = d
        return key_info

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
