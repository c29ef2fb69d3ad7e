from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EventPosition")


@_attrs_define
class EventPosition:
    """A bot's position after a fill."""

    open_: bool
    """ Whether anything is still held (false: the position closed). """
    quantity: str
    """ What is held (decimal string; "0" when closed). """
    cost: str
    """ What it cost in quote currency ("0" when closed). """
    adds: int
    """ Pyramid adds. """
    average_entry_price: None | str | Unset = UNSET
    """ The average entry price; null when closed. """
    dust: None | str | Unset = UNSET
    """ Dust left unsold when it closed; null while open. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        open_ = self.open_

        quantity = self.quantity

        cost = self.cost

        adds = self.adds

        average_entry_price: None | str | Unset
        if isinstance(self.average_entry_price, Unset):
            average_entry_price = UNSET
        else:
            average_entry_price = self.average_entry_price

        dust: None | str | Unset
        if isinstance(self.dust, Unset):
            dust = UNSET
        else:
            dust = self.dust

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "open": open_,
                "quantity": quantity,
                "cost": cost,
                "adds": adds,
            }
        )
        if average_entry_price is not UNSET:
            field_dict["average_entry_price"] = average_entry_price
        if dust is not UNSET:
            field_dict["dust"] = dust

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        open_ = d.pop("open")

        quantity = d.pop("quantity")

        cost = d.pop("cost")

        adds = d.pop("adds")

        def _parse_average_entry_price(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        average_entry_price = _parse_average_entry_price(d.pop("average_entry_price", UNSET))

        def _parse_dust(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        dust = _parse_dust(d.pop("dust", UNSET))

        event_position = cls(
            open_=open_,
            quantity=quantity,
            cost=cost,
            adds=adds,
            average_entry_price=average_entry_price,
            dust=dust,
        )

        event_position.additional_properties = d
        return event_position

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
