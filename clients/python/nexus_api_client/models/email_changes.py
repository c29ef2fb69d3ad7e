from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EmailChanges")


@_attrs_define
class EmailChanges:
    """Email preferences to change."""

    fills: bool | None | Unset = UNSET
    """ Fills. """
    gate_blocks: bool | None | Unset = UNSET
    """ Entries the gate blocked. """
    errors: bool | None | Unset = UNSET
    """ Refused or failed orders, bots paused by Nexus. """
    daily_summary: bool | None | Unset = UNSET
    """ The daily summary. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        fills: bool | None | Unset
        if isinstance(self.fills, Unset):
            fills = UNSET
        else:
            fills = self.fills

        gate_blocks: bool | None | Unset
        if isinstance(self.gate_blocks, Unset):
            gate_blocks = UNSET
        else:
            gate_blocks = self.gate_blocks

        errors: bool | None | Unset
        if isinstance(self.errors, Unset):
            errors = UNSET
        else:
            errors = self.errors

        daily_summary: bool | None | Unset
        if isinstance(self.daily_summary, Unset):
            daily_summary = UNSET
        else:
            daily_summary = self.daily_summary

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if fills is not UNSET:
            field_dict["fills"] = fills
        if gate_blocks is not UNSET:
            field_dict["gate_blocks"] = gate_blocks
        if errors is not UNSET:
            field_dict["errors"] = errors
        if daily_summary is not UNSET:
            field_dict["daily_summary"] = daily_summary

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_fills(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        fills = _parse_fills(d.pop("fills", UNSET))

        def _parse_gate_blocks(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        gate_blocks = _parse_gate_blocks(d.pop("gate_blocks", UNSET))

        def _parse_errors(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        errors = _parse_errors(d.pop("errors", UNSET))

        def _parse_daily_summary(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        daily_summary = _parse_daily_summary(d.pop("daily_summary", UNSET))

        email_changes = cls(
            fills=fills,
            gate_blocks=gate_blocks,
            errors=errors,
            daily_summary=daily_summary,
        )

        email_changes.additional_properties = d
        return email_changes

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
