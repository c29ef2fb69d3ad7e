from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.percent_of_equity_sizing_type import PercentOfEquitySizingType

T = TypeVar("T", bound="PercentOfEquitySizing")


@_attrs_define
class PercentOfEquitySizing:
    """Spend a share of the account's equity."""

    type_: PercentOfEquitySizingType
    percent: float | str
    """ The share, in percent. """

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_.value

        percent: float | str
        percent = self.percent

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "type": type_,
                "percent": percent,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = PercentOfEquitySizingType(d.pop("type"))

        def _parse_percent(data: object) -> float | str:
            return cast(float | str, data)

        percent = _parse_percent(d.pop("percent"))

        percent_of_equity_sizing = cls(
            type_=type_,
            percent=percent,
        )

        return percent_of_equity_sizing
