from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.exchange import Exchange
from ..types import UNSET, Unset

T = TypeVar("T", bound="NewBot")


@_attrs_define
class NewBot:
    """`POST /bots`. Only `exchange`, `symbol` and `strategy` are required."""

    exchange: Exchange
    """ A venue. """
    symbol: str
    """ The pair, `BASE/QUOTE` (`BTC/USDT`). """
    strategy: str
    """ The strategy: `trend_breakout`. """
    name: None | str | Unset = UNSET
    """ Your name for the bot; `<strategy> <symbol>` by default. """
    interval: None | str | Unset = UNSET
    """ The candle interval: `1m`, `5m`, `15m`, `1h` (default), `4h` or `1d`. """
    strategy_config: Any | Unset = UNSET
    """ The strategy's parameters (`trend_breakout`: `entry_period` 20, `exit_period` 10,
    `atr_period` 20 by default, each 1–1000 candles; `add_every_atr` 0.5 and
    `trailing_stop_atr` 2, each above 0 and at most 100; `max_adds` 3, at most 20); see
    docs/backtest.md. """
    sizing: Any | Unset = UNSET
    """ How orders are sized (default: 10 % of equity per entry); see docs/sizing.md.
    Ranges: `method.amount` above 0 and at most 10^12; `method.percent`,
    `method.risk_percent` and `max_position_pct` above 0 and at most 100;
    `method.stop.atr_multiple` above 0 and at most 100; `fee_reserve_pct` 0 to 10. """
    pyramid: Any | Unset = UNSET
    """ How the bot adds to a position (default: no adds); see docs/pyramiding.md.
    Ranges: `max_adds` 0–20; a level's `size_multiplier` above 0 and at most 100, its
    `trigger` non-zero, `percent` above -100 and at most 1000, `atr` -100 to 100;
    `cooldown_secs` at most 31536000 (365 days); `max_exposure.quote` above 0 and at
    most 10^12, `max_exposure.percent_of_equity` above 0 and at most 100. """
    gate: Any | Unset = UNSET
    """ When the regime gate lets it trade (default: entries in bull and sideways markets,
    adds in bull markets, exits always); see docs/regime.md. Ranges:
    `max_data_age_secs` 1–86400; each regime listed at most once. """
    exchange_key_id: None | Unset | UUID = UNSET
    """ The exchange key it trades with; the newest of your keys for the exchange when
    omitted. Paper bots need none. """
    paused: bool | None | Unset = UNSET
    """ Start paused. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        exchange = self.exchange.value

        symbol = self.symbol

        strategy = self.strategy

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        interval: None | str | Unset
        if isinstance(self.interval, Unset):
            interval = UNSET
        else:
            interval = self.interval

        strategy_config = self.strategy_config

        sizing = self.sizing

        pyramid = self.pyramid

        gate = self.gate

        exchange_key_id: None | str | Unset
        if isinstance(self.exchange_key_id, Unset):
            exchange_key_id = UNSET
        elif isinstance(self.exchange_key_id, UUID):
            exchange_key_id = str(self.exchange_key_id)
        else:
            exchange_key_id = self.exchange_key_id

        paused: bool | None | Unset
        if isinstance(self.paused, Unset):
            paused = UNSET
        else:
            paused = self.paused

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "exchange": exchange,
                "symbol": symbol,
                "strategy": strategy,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if interval is not UNSET:
            field_dict["interval"] = interval
        if strategy_config is not UNSET:
            field_dict["strategy_config"] = strategy_config
        if sizing is not UNSET:
            field_dict["sizing"] = sizing
        if pyramid is not UNSET:
            field_dict["pyramid"] = pyramid
        if gate is not UNSET:
            field_dict["gate"] = gate
        if exchange_key_id is not UNSET:
            field_dict["exchange_key_id"] = exchange_key_id
        if paused is not UNSET:
            field_dict["paused"] = paused

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        exchange = Exchange(d.pop("exchange"))

        symbol = d.pop("symbol")

        strategy = d.pop("strategy")

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_interval(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        interval = _parse_interval(d.pop("interval", UNSET))

        strategy_config = d.pop("strategy_config", UNSET)

        sizing = d.pop("sizing", UNSET)

        pyramid = d.pop("pyramid", UNSET)

        gate = d.pop("gate", UNSET)

        def _parse_exchange_key_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                exchange_key_id_type_0 = UUID(data)

                return exchange_key_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        exchange_key_id = _parse_exchange_key_id(d.pop("exchange_key_id", UNSET))

        def _parse_paused(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        paused = _parse_paused(d.pop("paused", UNSET))

        new_bot = cls(
            exchange=exchange,
            symbol=symbol,
            strategy=strategy,
            name=name,
            interval=interval,
            strategy_config=strategy_config,
            sizing=sizing,
            pyramid=pyramid,
            gate=gate,
            exchange_key_id=exchange_key_id,
            paused=paused,
        )

        new_bot.additional_properties = d
        return new_bot

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
