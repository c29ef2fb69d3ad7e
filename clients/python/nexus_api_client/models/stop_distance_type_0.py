from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="StopDistanceType0")


@_attrs_define
class StopDistanceType0:
    """An absolute stop price below the entry."""

    price: float | str
    """ The stop price. """

    def to_dict(self) -> dict[str, Any]:
        price: float | str
        price = self.price

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "price": price,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_price(data: object) -> float | str:
            return cast(float | str, data)

        price = _parse_price(d.pop("price"))

        stop_distance_type_0 = cls(
            price=price,
        )

        return stop_distance_type_0
