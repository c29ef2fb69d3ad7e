from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ExposureCapType1")


@_attrs_define
class ExposureCapType1:
    """At most this share of the account's equity."""

    percent_of_equity: float | str
    """ Percent. """

    def to_dict(self) -> dict[str, Any]:
        percent_of_equity: float | str
        percent_of_equity = self.percent_of_equity

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "percent_of_equity": percent_of_equity,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_percent_of_equity(data: object) -> float | str:
            return cast(float | str, data)

        percent_of_equity = _parse_percent_of_equity(d.pop("percent_of_equity"))

        exposure_cap_type_1 = cls(
            percent_of_equity=percent_of_equity,
        )

        return exposure_cap_type_1
