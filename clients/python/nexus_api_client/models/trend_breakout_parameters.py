from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TrendBreakoutParameters")


@_attrs_define
class TrendBreakoutParameters:
    """The `trend_breakout` strategy's parameters (docs/backtest.md); each left out takes its default."""

    entry_period: int | None | Unset = 20
    """ Enter when the close breaks above the highest high of this many previous candles. """
    exit_period: int | None | Unset = 10
    """ Exit when the close breaks below the lowest low of this many previous candles. """
    atr_period: int | None | Unset = 20
    """ The ATR's period, in candles. """
    add_every_atr: float | None | Unset = 0.5
    """ Signal an add each time the close rises this many ATRs above the last entry or add. """
    max_adds: int | None | Unset = 3
    """ At most this many add signals per position. """
    trailing_stop_atr: float | None | Unset = 2.0
    """ Exit when the close falls this many ATRs below the highest close since entry. """

    def to_dict(self) -> dict[str, Any]:
        entry_period: int | None | Unset
        if isinstance(self.entry_period, Unset):
            entry_period = UNSET
        else:
            entry_period = self.entry_period

        exit_period: int | None | Unset
        if isinstance(self.exit_period, Unset):
            exit_period = UNSET
        else:
            exit_period = self.exit_period

        atr_period: int | None | Unset
        if isinstance(self.atr_period, Unset):
            atr_period = UNSET
        else:
            atr_period = self.atr_period

        add_every_atr: float | None | Unset
        if isinstance(self.add_every_atr, Unset):
            add_every_atr = UNSET
        else:
            add_every_atr = self.add_every_atr

        max_adds: int | None | Unset
        if isinstance(self.max_adds, Unset):
            max_adds = UNSET
        else:
            max_adds = self.max_adds

        trailing_stop_atr: float | None | Unset
        if isinstance(self.trailing_stop_atr, Unset):
            trailing_stop_atr = UNSET
        else:
            trailing_stop_atr = self.trailing_stop_atr

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if entry_period is not UNSET:
            field_dict["entry_period"] = entry_period
        if exit_period is not UNSET:
            field_dict["exit_period"] = exit_period
        if atr_period is not UNSET:
            field_dict["atr_period"] = atr_period
        if add_every_atr is not UNSET:
            field_dict["add_every_atr"] = add_every_atr
        if max_adds is not UNSET:
            field_dict["max_adds"] = max_adds
        if trailing_stop_atr is not UNSET:
            field_dict["trailing_stop_atr"] = trailing_stop_atr

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_entry_period(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        entry_period = _parse_entry_period(d.pop("entry_period", UNSET))

        def _parse_exit_period(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        exit_period = _parse_exit_period(d.pop("exit_period", UNSET))

        def _parse_atr_period(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        atr_period = _parse_atr_period(d.pop("atr_period", UNSET))

        def _parse_add_every_atr(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        add_every_atr = _parse_add_every_atr(d.pop("add_every_atr", UNSET))

        def _parse_max_adds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_adds = _parse_max_adds(d.pop("max_adds", UNSET))

        def _parse_trailing_stop_atr(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        trailing_stop_atr = _parse_trailing_stop_atr(d.pop("trailing_stop_atr", UNSET))

        trend_breakout_parameters = cls(
            entry_period=entry_period,
            exit_period=exit_period,
            atr_period=atr_period,
            add_every_atr=add_every_atr,
            max_adds=max_adds,
            trailing_stop_atr=trailing_stop_atr,
        )

        return trend_breakout_parameters
