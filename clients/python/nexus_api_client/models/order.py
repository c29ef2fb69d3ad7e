from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_kind import OrderKind
from ..models.order_side import OrderSide
from ..models.order_state_name import OrderStateName
from ..types import UNSET, Unset

T = TypeVar("T", bound="Order")


@_attrs_define
class Order:
    """An order."""

    id: UUID
    """ Its id (the cursor for the next page). """
    signal_id: UUID
    """ The signal it came from. """
    client_order_id: str
    """ The id the venue knows it by. """
    side: OrderSide
    """ Which way an order trades. """
    order_type: OrderKind
    """ How an order is priced. """
    quantity: str
    """ The quantity ordered (decimal string). """
    level: int
    """ The pyramid level (0: the entry). """
    state: OrderStateName
    """ Where an order is. """
    filled_quantity: str
    """ How much filled. """
    created_at: datetime.datetime
    """ When it was planned. """
    updated_at: datetime.datetime
    """ When it last changed. """
    limit_price: None | str | Unset = UNSET
    """ The limit price. """
    venue_order_id: None | str | Unset = UNSET
    """ The venue's id. """
    average_price: None | str | Unset = UNSET
    """ The average fill price. """
    error: None | str | Unset = UNSET
    """ Why it failed. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        signal_id = str(self.signal_id)

        client_order_id = self.client_order_id

        side = self.side.value

        order_type = self.order_type.value

        quantity = self.quantity

        level = self.level

        state = self.state.value

        filled_quantity = self.filled_quantity

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        limit_price: None | str | Unset
        if isinstance(self.limit_price, Unset):
            limit_price = UNSET
        else:
            limit_price = self.limit_price

        venue_order_id: None | str | Unset
        if isinstance(self.venue_order_id, Unset):
            venue_order_id = UNSET
        else:
            venue_order_id = self.venue_order_id

        average_price: None | str | Unset
        if isinstance(self.average_price, Unset):
            average_price = UNSET
        else:
            average_price = self.average_price

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "signal_id": signal_id,
                "client_order_id": client_order_id,
                "side": side,
                "order_type": order_type,
                "quantity": quantity,
                "level": level,
                "state": state,
                "filled_quantity": filled_quantity,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if limit_price is not UNSET:
            field_dict["limit_price"] = limit_price
        if venue_order_id is not UNSET:
            field_dict["venue_order_id"] = venue_order_id
        if average_price is not UNSET:
            field_dict["average_price"] = average_price
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        signal_id = UUID(d.pop("signal_id"))

        client_order_id = d.pop("client_order_id")

        side = OrderSide(d.pop("side"))

        order_type = OrderKind(d.pop("order_type"))

        quantity = d.pop("quantity")

        level = d.pop("level")

        state = OrderStateName(d.pop("state"))

        filled_quantity = d.pop("filled_quantity")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_limit_price(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        limit_price = _parse_limit_price(d.pop("limit_price", UNSET))

        def _parse_venue_order_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        venue_order_id = _parse_venue_order_id(d.pop("venue_order_id", UNSET))

        def _parse_average_price(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        average_price = _parse_average_price(d.pop("average_price", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        order = cls(
            id=id,
            signal_id=signal_id,
            client_order_id=client_order_id,
            side=side,
            order_type=order_type,
            quantity=quantity,
            level=level,
            state=state,
            filled_quantity=filled_quantity,
            created_at=created_at,
            updated_at=updated_at,
            limit_price=limit_price,
            venue_order_id=venue_order_id,
            average_price=average_price,
            error=error,
        )

        order.additional_properties = d
        return order

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
