from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Skip")


@_attrs_define
class Skip:
    """A plan skipped for the bot."""

    id: int
    """ Its sequence number (the cursor for the next page). """
    signal_id: UUID
    """ The signal. """
    reason: str
    """ A stable reason code: `paused`, `plan_inactive`, `other_exchange`,
    `no_market_data`, `gate` (the market-regime gate blocked it), `already_in_position`,
    `no_position`, `no_add` (no pyramid level due), `sizing` (no valid order size),
    `dust`, `account_unavailable` or `internal_error`. """
    detail: str
    """ The details. """
    at: datetime.datetime
    """ When. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        signal_id = str(self.signal_id)

        reason = self.reason

        detail = self.detail

        at = self.at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "signal_id": signal_id,
                "reason": reason,
                "detail": detail,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        signal_id = UUID(d.pop("signal_id"))

        reason = d.pop("reason")

        detail = d.pop("detail")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        skip = cls(
            id=id,
            signal_id=signal_id,
            reason=reason,
            detail=detail,
            at=at,
        )

        skip.additional_properties = d
        return skip

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
