from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.exchange import Exchange
from ..models.interval_name import IntervalName
from ..models.strategy_name import StrategyName
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gate_policy import GatePolicy
    from ..models.pyramid import Pyramid
    from ..models.sizing import Sizing
    from ..models.trend_breakout_parameters import TrendBreakoutParameters
    from ..models.webhook_parameters import WebhookParameters


T = TypeVar("T", bound="Bot")


@_attrs_define
class Bot:
    """A bot."""

    id: UUID
    """ Its id. """
    name: str
    """ Its name. """
    exchange: Exchange
    """ A venue. """
    symbol: str
    """ The pair. """
    strategy: StrategyName
    """ A strategy a bot can run. """
    interval: IntervalName
    """ A candle interval. """
    strategy_config: TrendBreakoutParameters | WebhookParameters
    """ The strategy's parameters: `TrendBreakoutParameters` for `trend_breakout`, `WebhookParameters` for
    `webhook`. """
    sizing: Sizing
    """ How orders are sized (docs/sizing.md). """
    pyramid: Pyramid
    """ How a bot adds to a position (docs/pyramiding.md); each field left out takes its default (no adds). With the
    anchor `average_entry` there is one level per add; with `last_fill` the last level repeats. """
    gate: GatePolicy
    """ When the market-regime gate lets the bot trade (docs/regime.md); each field left out takes its default.
    Exits are always allowed. """
    paused: bool
    """ Paused, by you or by the engine. """
    exchange_key_id: None | Unset | UUID = UNSET
    """ The exchange key it trades with. """
    paused_reason: None | str | Unset = UNSET
    """ Why Nexus paused the bot: `plan_limit` (your plan became smaller than your
    running bots; resume it within your plan's limits) or `internal_error: …` (its work
    failed in a way retrying would not fix); null when you paused it or it runs.
    Resuming it clears this. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.trend_breakout_parameters import TrendBreakoutParameters  # noqa: PLC0415

        id = str(self.id)

        name = self.name

        exchange = self.exchange.value

        symbol = self.symbol

        strategy = self.strategy.value

        interval = self.interval.value

        strategy_config: dict[str, Any]
        if isinstance(self.strategy_config, TrendBreakoutParameters):
            strategy_config = self.strategy_config.to_dict()
        else:
            strategy_config = self.strategy_config.to_dict()

        sizing = self.sizing.to_dict()

        pyramid = self.pyramid.to_dict()

        gate = self.gate.to_dict()

        paused = self.paused

        exchange_key_id: None | str | Unset
        if isinstance(self.exchange_key_id, Unset):
            exchange_key_id = UNSET
        elif isinstance(self.exchange_key_id, UUID):
            exchange_key_id = str(self.exchange_key_id)
        else:
            exchange_key_id = self.exchange_key_id

        paused_reason: None | str | Unset
        if isinstance(self.paused_reason, Unset):
            paused_reason = UNSET
        else:
            paused_reason = self.paused_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "exchange": exchange,
                "symbol": symbol,
                "strategy": strategy,
                "interval": interval,
                "strategy_config": strategy_config,
                "sizing": sizing,
                "pyramid": pyramid,
                "gate": gate,
                "paused": paused,
            }
        )
        if exchange_key_id is not UNSET:
            field_dict["exchange_key_id"] = exchange_key_id
        if paused_reason is not UNSET:
            field_dict["paused_reason"] = paused_reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gate_policy import GatePolicy  # noqa: PLC0415
        from ..models.pyramid import Pyramid  # noqa: PLC0415
        from ..models.sizing import Sizing  # noqa: PLC0415
        from ..models.trend_breakout_parameters import TrendBreakoutParameters  # noqa: PLC0415
        from ..models.webhook_parameters import WebhookParameters  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        name = d.pop("name")

        exchange = Exchange(d.pop("exchange"))

        symbol = d.pop("symbol")

        strategy = StrategyName(d.pop("strategy"))

        interval = IntervalName(d.pop("interval"))

        def _parse_strategy_config(data: object) -> TrendBreakoutParameters | WebhookParameters:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_strategy_parameters_type_0 = TrendBreakoutParameters.from_dict(data)

                return componentsschemas_strategy_parameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_strategy_parameters_type_1 = WebhookParameters.from_dict(data)

            return componentsschemas_strategy_parameters_type_1

        strategy_config = _parse_strategy_config(d.pop("strategy_config"))

        sizing = Sizing.from_dict(d.pop("sizing"))

        pyramid = Pyramid.from_dict(d.pop("pyramid"))

        gate = GatePolicy.from_dict(d.pop("gate"))

        paused = d.pop("paused")

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

        def _parse_paused_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        paused_reason = _parse_paused_reason(d.pop("paused_reason", UNSET))

        bot = cls(
            id=id,
            name=name,
            exchange=exchange,
            symbol=symbol,
            strategy=strategy,
            interval=interval,
            strategy_config=strategy_config,
            sizing=sizing,
            pyramid=pyramid,
            gate=gate,
            paused=paused,
            exchange_key_id=exchange_key_id,
            paused_reason=paused_reason,
        )

        bot.additional_properties = d
        return bot

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
