from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.exchange import Exchange

T = TypeVar("T", bound="OutOfSyncEntry")


@_attrs_define
class OutOfSyncEntry:
    """A position found out of sync with its venue account at an exit: the account held less
    than the bot's position by more than fees or rounding explain. What was held was sold
    and the position closed; the owner was emailed.

    """

    id: int
    """ Its sequence number (page with `before`). """
    bot_id: UUID
    """ The bot. """
    user_id: UUID
    """ Its owner. """
    signal_id: UUID
    """ The exit signal that found it. """
    exchange: Exchange
    """ A venue. """
    symbol: str
    """ The pair, e.g. `BTC/USDT`. """
    expected: str
    """ What the position said the bot held (decimal string). """
    available: str
    """ What the account held (decimal string). """
    sold: str
    """ What the exit sold (decimal string; `0` when nothing could be sold). """
    at: datetime.datetime
    """ When. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        bot_id = str(self.bot_id)

        user_id = str(self.user_id)

        signal_id = str(self.signal_id)

        exchange = self.exchange.value

        symbol = self.symbol

        expected = self.expected

        available = self.available

        sold = self.sold

        at = self.at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "bot_id": bot_id,
                "user_id": user_id,
                "signal_id": signal_id,
                "exchange": exchange,
                "symbol": symbol,
                "expected": expected,
                "available": available,
                "sold": sold,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        bot_id = UUID(d.pop("bot_id"))

        user_id = UUID(d.pop("user_id"))

        signal_id = UUID(d.pop("signal_id"))

        exchange = Exchange(d.pop("exchange"))

        symbol = d.pop("symbol")

        expected = d.pop("expected")

        available = d.pop("available")

        sold = d.pop("sold")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        out_of_sync_entry = cls(
            id=id,
            bot_id=bot_id,
            user_id=user_id,
            signal_id=signal_id,
            exchange=exchange,
            symbol=symbol,
            expected=expected,
            available=available,
            sold=sold,
            at=at,
        )

        out_of_sync_entry.additional_properties = d
        return out_of_sync_entry

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
