from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PositionView")


@_attrs_define
class PositionView:
    """A position, open or closed."""

    id: UUID
    """ Its id (the cursor for the next page). """
    symbol: str
    """ The pair. """
    quantity: str
    """ What is held. """
    cost: str
    """ What it cost, in quote currency. """
    adds: int
    """ Pyramid adds. """
    dust: str
    """ Dust left when it closed. """
    opened_at: datetime.datetime
    """ When it opened. """
    closed_at: datetime.datetime | None | Unset = UNSET
    """ When it closed. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        symbol = self.symbol

        quantity = self.quantity

        cost = self.cost

        adds = self.adds

        dust = self.dust

        opened_at = self.opened_at.isoformat()

        closed_at: None | str | Unset
        if isinstance(self.closed_at, Unset):
            closed_at = UNSET
        elif isinstance(self.closed_at, datetime.datetime):
            closed_at = self.closed_at.isoformat()
        else:
            closed_at = self.closed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "symbol": symbol,
                "quantity": quantity,
                "cost": cost,
                "adds": adds,
                "dust": dust,
                "opened_at": opened_at,
            }
        )
        if closed_at is not UNSET:
            field_dict["closed_at"] = closed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        symbol = d.pop("symbol")

        quantity = d.pop("quantity")

        cost = d.pop("cost")

        adds = d.pop("adds")

        dust = d.pop("dust")

        opened_at = datetime.datetime.fromisoformat(d.pop("opened_at"))

        def _parse_closed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                closed_at_type_0 = datetime.datetime.fromisoformat(data)

                return closed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        closed_at = _parse_closed_at(d.pop("closed_at", UNSET))

        position_view = cls(
            id=id,
            symbol=symbol,
            quantity=quantity,
            cost=cost,
            adds=adds,
            dust=dust,
            opened_at=opened_at,
            closed_at=closed_at,
        )

        position_view.additional_properties = d
        return position_view

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
