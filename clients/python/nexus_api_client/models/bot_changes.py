from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.interval_name import IntervalName
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gate_policy import GatePolicy
    from ..models.pyramid import Pyramid
    from ..models.sizing import Sizing
    from ..models.trend_breakout_parameters import TrendBreakoutParameters
    from ..models.webhook_parameters import WebhookParameters


T = TypeVar("T", bound="BotChanges")


@_attrs_define
class BotChanges:
    """`PATCH /bots/{id}`: the fields to change.

    Example:
        {'exchange_key_id': None, 'gate': None, 'interval': '4h', 'name': 'BTC trend, 4-hourly', 'paused': None,
            'pyramid': None, 'sizing': None, 'strategy_config': None, 'symbol': None}

    """

    name: None | str | Unset = UNSET
    """ A new name, up to 100 characters. """
    symbol: None | str | Unset = UNSET
    """ A new pair. """
    interval: IntervalName | None | Unset = UNSET
    strategy_config: None | TrendBreakoutParameters | Unset | WebhookParameters = UNSET
    sizing: None | Sizing | Unset = UNSET
    pyramid: None | Pyramid | Unset = UNSET
    gate: GatePolicy | None | Unset = UNSET
    exchange_key_id: None | Unset | UUID = UNSET
    """ Another of your keys for the bot's exchange. """
    paused: bool | None | Unset = UNSET
    """ Pause (`true`) or resume (`false`); either clears `paused_reason`. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.gate_policy import GatePolicy  # noqa: PLC0415
        from ..models.pyramid import Pyramid  # noqa: PLC0415
        from ..models.sizing import Sizing  # noqa: PLC0415
        from ..models.trend_breakout_parameters import TrendBreakoutParameters  # noqa: PLC0415
        from ..models.webhook_parameters import WebhookParameters  # noqa: PLC0415

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        symbol: None | str | Unset
        if isinstance(self.symbol, Unset):
            symbol = UNSET
        else:
            symbol = self.symbol

        interval: None | str | Unset
        if isinstance(self.interval, Unset):
            interval = UNSET
        elif isinstance(self.interval, IntervalName):
            interval = self.interval.value
        else:
            interval = self.interval

        strategy_config: dict[str, Any] | None | Unset
        if isinstance(self.strategy_config, Unset):
            strategy_config = UNSET
        elif isinstance(self.strategy_config, TrendBreakoutParameters):
            strategy_config = self.strategy_config.to_dict()
        elif isinstance(self.strategy_config, WebhookParameters):
            strategy_config = self.strategy_config.to_dict()
        else:
            strategy_config = self.strategy_config

        sizing: dict[str, Any] | None | Unset
        if isinstance(self.sizing, Unset):
            sizing = UNSET
        elif isinstance(self.sizing, Sizing):
            sizing = self.sizing.to_dict()
        else:
            sizing = self.sizing

        pyramid: dict[str, Any] | None | Unset
        if isinstance(self.pyramid, Unset):
            pyramid = UNSET
        elif isinstance(self.pyramid, Pyramid):
            pyramid = self.pyramid.to_dict()
        else:
            pyramid = self.pyramid

        gate: dict[str, Any] | None | Unset
        if isinstance(self.gate, Unset):
            gate = UNSET
        elif isinstance(self.gate, GatePolicy):
            gate = self.gate.to_dict()
        else:
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
        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if symbol is not UNSET:
            field_dict["symbol"] = symbol
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
        from ..models.gate_policy import GatePolicy  # noqa: PLC0415
        from ..models.pyramid import Pyramid  # noqa: PLC0415
        from ..models.sizing import Sizing  # noqa: PLC0415
        from ..models.trend_breakout_parameters import TrendBreakoutParameters  # noqa: PLC0415
        from ..models.webhook_parameters import WebhookParameters  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_symbol(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        symbol = _parse_symbol(d.pop("symbol", UNSET))

        def _parse_interval(data: object) -> IntervalName | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                interval_type_0 = IntervalName(data)

                return interval_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(IntervalName | None | Unset, data)

        interval = _parse_interval(d.pop("interval", UNSET))

        def _parse_strategy_config(data: object) -> None | TrendBreakoutParameters | Unset | WebhookParameters:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_strategy_parameters_type_0 = TrendBreakoutParameters.from_dict(data)

                return componentsschemas_strategy_parameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_strategy_parameters_type_1 = WebhookParameters.from_dict(data)

                return componentsschemas_strategy_parameters_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TrendBreakoutParameters | Unset | WebhookParameters, data)

        strategy_config = _parse_strategy_config(d.pop("strategy_config", UNSET))

        def _parse_sizing(data: object) -> None | Sizing | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                sizing_type_0 = Sizing.from_dict(data)

                return sizing_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Sizing | Unset, data)

        sizing = _parse_sizing(d.pop("sizing", UNSET))

        def _parse_pyramid(data: object) -> None | Pyramid | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pyramid_type_0 = Pyramid.from_dict(data)

                return pyramid_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Pyramid | Unset, data)

        pyramid = _parse_pyramid(d.pop("pyramid", UNSET))

        def _parse_gate(data: object) -> GatePolicy | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                gate_type_0 = GatePolicy.from_dict(data)

                return gate_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GatePolicy | None | Unset, data)

        gate = _parse_gate(d.pop("gate", UNSET))

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

        bot_changes = cls(
            name=name,
            symbol=symbol,
            interval=interval,
            strategy_config=strategy_config,
            sizing=sizing,
            pyramid=pyramid,
            gate=gate,
            exchange_key_id=exchange_key_id,
            paused=paused,
        )

        bot_changes.additional_properties = d
        return bot_changes

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
