from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="TriggerType0")


@_attrs_define
class TriggerType0:
    """A move in percent of the anchor price."""

    percent: float | str
    """ Percent. """

    def to_dict(self) -> dict[str, Any]:
        percent: float | str
        percent = self.percent

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "percent": percent,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_percent(data: object) -> float | str:
            return cast(float | str, data)

        percent = _parse_percent(d.pop("percent"))

        trigger_type_0 = cls(
            percent=percent,
        )

        return trigger_type_0
