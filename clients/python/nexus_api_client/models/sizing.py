from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.fixed_quote_sizing import FixedQuoteSizing
    from ..models.percent_of_equity_sizing import PercentOfEquitySizing
    from ..models.risk_sizing import RiskSizing


T = TypeVar("T", bound="Sizing")


@_attrs_define
class Sizing:
    """How orders are sized (docs/sizing.md)."""

    method: FixedQuoteSizing | PercentOfEquitySizing | RiskSizing
    """ How the initial entry is sized. """
    max_position_pct: float | None | str | Unset = UNSET
    """ The position may be worth at most this share of equity, in percent; null: no cap. """
    fee_reserve_pct: float | str | Unset = 0.1
    """ The share of an order kept back from the free balance for fees, in percent. """

    def to_dict(self) -> dict[str, Any]:
        from ..models.fixed_quote_sizing import FixedQuoteSizing  # noqa: PLC0415
        from ..models.percent_of_equity_sizing import PercentOfEquitySizing  # noqa: PLC0415

        method: dict[str, Any]
        if isinstance(self.method, FixedQuoteSizing):
            method = self.method.to_dict()
        elif isinstance(self.method, PercentOfEquitySizing):
            method = self.method.to_dict()
        else:
            method = self.method.to_dict()

        max_position_pct: float | None | str | Unset
        if isinstance(self.max_position_pct, Unset):
            max_position_pct = UNSET
        else:
            max_position_pct = self.max_position_pct

        fee_reserve_pct: float | str | Unset
        if isinstance(self.fee_reserve_pct, Unset):
            fee_reserve_pct = UNSET
        else:
            fee_reserve_pct = self.fee_reserve_pct

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "method": method,
            }
        )
        if max_position_pct is not UNSET:
            field_dict["max_position_pct"] = max_position_pct
        if fee_reserve_pct is not UNSET:
            field_dict["fee_reserve_pct"] = fee_reserve_pct

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.fixed_quote_sizing import FixedQuoteSizing  # noqa: PLC0415
        from ..models.percent_of_equity_sizing import PercentOfEquitySizing  # noqa: PLC0415
        from ..models.risk_sizing import RiskSizing  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_method(data: object) -> FixedQuoteSizing | PercentOfEquitySizing | RiskSizing:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_sizing_method_type_0 = FixedQuoteSizing.from_dict(data)

                return componentsschemas_sizing_method_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_sizing_method_type_1 = PercentOfEquitySizing.from_dict(data)

                return componentsschemas_sizing_method_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_sizing_method_type_2 = RiskSizing.from_dict(data)

            return componentsschemas_sizing_method_type_2

        method = _parse_method(d.pop("method"))

        def _parse_max_position_pct(data: object) -> float | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | str | Unset, data)

        max_position_pct = _parse_max_position_pct(d.pop("max_position_pct", UNSET))

        def _parse_fee_reserve_pct(data: object) -> float | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(float | str | Unset, data)

        fee_reserve_pct = _parse_fee_reserve_pct(d.pop("fee_reserve_pct", UNSET))

        sizing = cls(
            method=method,
            max_position_pct=max_position_pct,
            fee_reserve_pct=fee_reserve_pct,
        )

        return sizing
