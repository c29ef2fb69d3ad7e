from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BotCounts")


@_attrs_define
class BotCounts:
    """Counts of running bots and their pairs (limits: null means unlimited)."""

    bots: int | None | Unset = UNSET
    """ Running bots. """
    pairs: int | None | Unset = UNSET
    """ Distinct (exchange, symbol) pairs of running bots. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bots: int | None | Unset
        if isinstance(self.bots, Unset):
            bots = UNSET
        else:
            bots = self.bots

        pairs: int | None | Unset
        if isinstance(self.pairs, Unset):
            pairs = UNSET
        else:
            pairs = self.pairs

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if bots is not UNSET:
            field_dict["bots"] = bots
        if pairs is not UNSET:
            field_dict["pairs"] = pairs

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_bots(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        bots = _parse_bots(d.pop("bots", UNSET))

        def _parse_pairs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        pairs = _parse_pairs(d.pop("pairs", UNSET))

        bot_counts = cls(
            bots=bots,
            pairs=pairs,
        )

        bot_counts.additional_properties = d
        return bot_counts

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
