from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ExposureCapType0")


@_attrs_define
class ExposureCapType0:
    """At most this much quote currency at cost."""

    quote: float | str
    """ The amount. """

    def to_dict(self) -> dict[str, Any]:
        quote: float | str
        quote = self.quote

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "quote": quote,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_quote(data: object) -> float | str:
            return cast(float | str, data)

        quote = _parse_quote(d.pop("quote"))

        exposure_cap_type_0 = cls(
            quote=quote,
        )

        return exposure_cap_type_0
