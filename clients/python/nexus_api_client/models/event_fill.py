from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_side import OrderSide
from ..types import UNSET, Unset

T = TypeVar("T", bound="EventFill")


@_attrs_define
class EventFill:
    """A fill, as an event."""

    order_id: UUID
    """ The order. """
    venue_trade_id: str
    """ The venue's trade id. """
    side: OrderSide
    """ Which way an order trades. """
    quantity: str
    """ How much filled (decimal string). """
    price: str
    """ At what price. """
    fee: str
    """ The fee. """
    filled_at: datetime.datetime
    """ When. """
    fee_asset: None | str | Unset = UNSET
    """ The fee's asset. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        order_id = str(self.order_id)

        venue_trade_id = self.venue_trade_id

        side = self.side.value

        quantity = self.quantity

        price = self.price

        fee = self.fee

        filled_at = self.filled_at.isoformat()

        fee_asset: None | str | Unset
        if isinstance(self.fee_asset, Unset):
            fee_asset = UNSET
        else:
            fee_asset = self.fee_asset

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order_id": order_id,
                "venue_trade_id": venue_trade_id,
                "side": side,
                "quantity": quantity,
                "price": price,
                "fee": fee,
                "filled_at": filled_at,
            }
        )
        if fee_asset is not UNSET:
            field_dict["fee_asset"] = fee_asset

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        order_id = UUID(d.pop("order_id"))

        venue_trade_id = d.pop("venue_trade_id")

        side = OrderSide(d.pop("side"))

        quantity = d.pop("quantity")

        price = d.pop("price")

        fee = d.pop("fee")

        filled_at = datetime.datetime.fromisoformat(d.pop("filled_at"))

        def _parse_fee_asset(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        fee_asset = _parse_fee_asset(d.pop("fee_asset", UNSET))

        event_fill = cls(
            order_id=order_id,
            venue_trade_id=venue_trade_id,
            side=side,
            quantity=quantity,
            price=price,
            fee=fee,
            filled_at=filled_at,
            fee_asset=fee_asset,
        )

        event_fill.additional_properties = d
        return event_fill

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
