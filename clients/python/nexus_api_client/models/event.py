from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType
from ..models.exchange import Exchange
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.event_bot import EventBot
    from ..models.event_fill import EventFill
    from ..models.event_position import EventPosition
    from ..models.event_regime import EventRegime
    from ..models.order import Order


T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """One live event. `type` says which of the other members is set; the rest are null."""

    type_: EventType
    """ What an event is about; also its SSE `event` field. """
    at: datetime.datetime
    """ When it happened. """
    bot_id: None | Unset | UUID = UNSET
    """ The bot it concerns; null for `regime` and `reset`. """
    exchange: Exchange | None | Unset = UNSET
    symbol: None | str | Unset = UNSET
    """ The pair; null for `reset`. """
    order: None | Order | Unset = UNSET
    fill: EventFill | None | Unset = UNSET
    position: EventPosition | None | Unset = UNSET
    bot: EventBot | None | Unset = UNSET
    regime: EventRegime | None | Unset = UNSET
    detail: None | str | Unset = UNSET
    """ `reset`: why. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.event_bot import EventBot  # noqa: PLC0415
        from ..models.event_fill import EventFill  # noqa: PLC0415
        from ..models.event_position import EventPosition  # noqa: PLC0415
        from ..models.event_regime import EventRegime  # noqa: PLC0415
        from ..models.order import Order  # noqa: PLC0415

        type_ = self.type_.value

        at = self.at.isoformat()

        bot_id: None | str | Unset
        if isinstance(self.bot_id, Unset):
            bot_id = UNSET
        elif isinstance(self.bot_id, UUID):
            bot_id = str(self.bot_id)
        else:
            bot_id = self.bot_id

        exchange: None | str | Unset
        if isinstance(self.exchange, Unset):
            exchange = UNSET
        elif isinstance(self.exchange, Exchange):
            exchange = self.exchange.value
        else:
            exchange = self.exchange

        symbol: None | str | Unset
        if isinstance(self.symbol, Unset):
            symbol = UNSET
        else:
            symbol = self.symbol

        order: dict[str, Any] | None | Unset
        if isinstance(self.order, Unset):
            order = UNSET
        elif isinstance(self.order, Order):
            order = self.order.to_dict()
        else:
            order = self.order

        fill: dict[str, Any] | None | Unset
        if isinstance(self.fill, Unset):
            fill = UNSET
        elif isinstance(self.fill, EventFill):
            fill = self.fill.to_dict()
        else:
            fill = self.fill

        position: dict[str, Any] | None | Unset
        if isinstance(self.position, Unset):
            position = UNSET
        elif isinstance(self.position, EventPosition):
            position = self.position.to_dict()
        else:
            position = self.position

        bot: dict[str, Any] | None | Unset
        if isinstance(self.bot, Unset):
            bot = UNSET
        elif isinstance(self.bot, EventBot):
            bot = self.bot.to_dict()
        else:
            bot = self.bot

        regime: dict[str, Any] | None | Unset
        if isinstance(self.regime, Unset):
            regime = UNSET
        elif isinstance(self.regime, EventRegime):
            regime = self.regime.to_dict()
        else:
            regime = self.regime

        detail: None | str | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        else:
            detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "at": at,
            }
        )
        if bot_id is not UNSET:
            field_dict["bot_id"] = bot_id
        if exchange is not UNSET:
            field_dict["exchange"] = exchange
        if symbol is not UNSET:
            field_dict["symbol"] = symbol
        if order is not UNSET:
            field_dict["order"] = order
        if fill is not UNSET:
            field_dict["fill"] = fill
        if position is not UNSET:
            field_dict["position"] = position
        if bot is not UNSET:
            field_dict["bot"] = bot
        if regime is not UNSET:
            field_dict["regime"] = regime
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_bot import EventBot  # noqa: PLC0415
        from ..models.event_fill import EventFill  # noqa: PLC0415
        from ..models.event_position import EventPosition  # noqa: PLC0415
        from ..models.event_regime import EventRegime  # noqa: PLC0415
        from ..models.order import Order  # noqa: PLC0415

        d = dict(src_dict)
        type_ = EventType(d.pop("type"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        def _parse_bot_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                bot_id_type_0 = UUID(data)

                return bot_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        bot_id = _parse_bot_id(d.pop("bot_id", UNSET))

        def _parse_exchange(data: object) -> Exchange | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                exchange_type_0 = Exchange(data)

                return exchange_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Exchange | None | Unset, data)

        exchange = _parse_exchange(d.pop("exchange", UNSET))

        def _parse_symbol(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        symbol = _parse_symbol(d.pop("symbol", UNSET))

        def _parse_order(data: object) -> None | Order | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                order_type_0 = Order.from_dict(data)

                return order_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Order | Unset, data)

        order = _parse_order(d.pop("order", UNSET))

        def _parse_fill(data: object) -> EventFill | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fill_type_0 = EventFill.from_dict(data)

                return fill_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EventFill | None | Unset, data)

        fill = _parse_fill(d.pop("fill", UNSET))

        def _parse_position(data: object) -> EventPosition | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                position_type_0 = EventPosition.from_dict(data)

                return position_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EventPosition | None | Unset, data)

        position = _parse_position(d.pop("position", UNSET))

        def _parse_bot(data: object) -> EventBot | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                bot_type_0 = EventBot.from_dict(data)

                return bot_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EventBot | None | Unset, data)

        bot = _parse_bot(d.pop("bot", UNSET))

        def _parse_regime(data: object) -> EventRegime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                regime_type_0 = EventRegime.from_dict(data)

                return regime_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EventRegime | None | Unset, data)

        regime = _parse_regime(d.pop("regime", UNSET))

        def _parse_detail(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

        event = cls(
            type_=type_,
            at=at,
            bot_id=bot_id,
            exchange=exchange,
            symbol=symbol,
            order=order,
            fill=fill,
            position=position,
            bot=bot,
            regime=regime,
            detail=detail,
        )

        event.additional_properties = d
        return event

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
