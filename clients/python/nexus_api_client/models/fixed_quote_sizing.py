from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.fixed_quote_sizing_type import FixedQuoteSizingType

T = TypeVar("T", bound="FixedQuoteSizing")


@_attrs_define
class FixedQuoteSizing:
    """Spend a fixed amount of the quote currency."""

    type_: FixedQuoteSizingType
    amount: float | str
    """ The amount. """

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_.value

        amount: float | str
        amount = self.amount

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "type": type_,
                "amount": amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = FixedQuoteSizingType(d.pop("type"))

        def _parse_amount(data: object) -> float | str:
            return cast(float | str, data)

        amount = _parse_amount(d.pop("amount"))

        fixed_quote_sizing = cls(
            type_=type_,
            amount=amount,
        )

        return fixed_quote_sizing
