from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="StopDistanceType1")


@_attrs_define
class StopDistanceType1:
    """This many ATRs below the entry."""

    atr_multiple: float | str
    """ ATRs. """

    def to_dict(self) -> dict[str, Any]:
        atr_multiple: float | str
        atr_multiple = self.atr_multiple

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "atr_multiple": atr_multiple,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_atr_multiple(data: object) -> float | str:
            return cast(float | str, data)

        atr_multiple = _parse_atr_multiple(d.pop("atr_multiple"))

        stop_distance_type_1 = cls(
            atr_multiple=atr_multiple,
        )

        return stop_distance_type_1
