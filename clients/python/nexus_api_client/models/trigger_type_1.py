from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="TriggerType1")


@_attrs_define
class TriggerType1:
    """A move in multiples of the ATR."""

    atr: float | str
    """ ATRs. """

    def to_dict(self) -> dict[str, Any]:
        atr: float | str
        atr = self.atr

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "atr": atr,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_atr(data: object) -> float | str:
            return cast(float | str, data)

        atr = _parse_atr(d.pop("atr"))

        trigger_type_1 = cls(
            atr=atr,
        )

        return trigger_type_1
