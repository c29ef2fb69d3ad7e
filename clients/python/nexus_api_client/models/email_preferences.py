from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="EmailPreferences")


@_attrs_define
class EmailPreferences:
    """Which alerts are emailed."""

    fills: bool
    """ A fill of one of your bots' orders (default true). """
    gate_blocks: bool
    """ An entry the market-regime gate blocked (default false). """
    errors: bool
    """ An order refused or failed, a position out of sync, a bot paused by Nexus
    (default true). """
    daily_summary: bool
    """ One summary per UTC day of your bots' orders, fills, P&L and skips (default false). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        fills = self.fills

        gate_blocks = self.gate_blocks

        errors = self.errors

        daily_summary = self.daily_summary

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "fills": fills,
                "gate_blocks": gate_blocks,
                "errors": errors,
                "daily_summary": daily_summary,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        fills = d.pop("fills")

        gate_blocks = d.pop("gate_blocks")

        errors = d.pop("errors")

        daily_summary = d.pop("daily_summary")

        email_preferences = cls(
            fills=fills,
            gate_blocks=gate_blocks,
            errors=errors,
            daily_summary=daily_summary,
        )

        email_preferences.additional_properties = d
        return email_preferences

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
