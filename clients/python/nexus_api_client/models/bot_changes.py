from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BotChanges")


@_attrs_define
class BotChanges:
    """`PATCH /bots/{id}`: the fields to change."""

    name: None | str | Unset = UNSET
    """ A new name. """
    symbol: None | str | Unset = UNSET
    """ A new pair. """
    interval: None | str | Unset = UNSET
    """ A new interval. """
    strategy_config: Any | Unset = UNSET
    """ New strategy parameters (replacing the old ones), in the ranges of `NewBot`'s. """
    sizing: Any | Unset = UNSET
    """ New sizing rules, in the ranges of `NewBot`'s. """
    pyramid: Any | Unset = UNSET
    """ New pyramiding rules, in the ranges of `NewBot`'s. """
    gate: Any | Unset = UNSET
    """ A new gate policy, in the ranges of `NewBot`'s. """
    exchange_key_id: None | Unset | UUID = UNSET
    """ Another of your keys for the bot's exchange. """
    paused: bool | None | Unset = UNSET
    """ Pause (`true`) or resume (`false`); either clears `paused_reason`. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
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
