from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.billing_event_outcome import BillingEventOutcome
from ..types import UNSET, Unset

T = TypeVar("T", bound="BillingEventEntry")


@_attrs_define
class BillingEventEntry:
    """A Stripe event as received, and what became of it."""

    id: str
    """ Stripe's event id (`evt_…`). """
    type_: str
    """ Its type (`invoice.paid`, …). """
    created: datetime.datetime
    """ When Stripe created it. """
    received_at: datetime.datetime
    """ When it was (last) received. """
    outcome: BillingEventOutcome
    """ What became of a Stripe event. """
    user_id: None | Unset | UUID = UNSET
    """ The user it was about. """
    subscription_id: None | str | Unset = UNSET
    """ The subscription it was about. """
    detail: None | str | Unset = UNSET
    """ Why it was ignored, stale or failed. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        type_ = self.type_

        created = self.created.isoformat()

        received_at = self.received_at.isoformat()

        outcome = self.outcome.value

        user_id: None | str | Unset
        if isinstance(self.user_id, Unset):
            user_id = UNSET
        elif isinstance(self.user_id, UUID):
            user_id = str(self.user_id)
        else:
            user_id = self.user_id

        subscription_id: None | str | Unset
        if isinstance(self.subscription_id, Unset):
            subscription_id = UNSET
        else:
            subscription_id = self.subscription_id

        detail: None | str | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        else:
            detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "created": created,
                "received_at": received_at,
                "outcome": outcome,
            }
        )
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if subscription_id is not UNSET:
            field_dict["subscription_id"] = subscription_id
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        type_ = d.pop("type")

        created = datetime.datetime.fromisoformat(d.pop("created"))

        received_at = datetime.datetime.fromisoformat(d.pop("received_at"))

        outcome = BillingEventOutcome(d.pop("outcome"))

        def _parse_user_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                user_id_type_0 = UUID(data)

                return user_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        user_id = _parse_user_id(d.pop("user_id", UNSET))

        def _parse_subscription_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        subscription_id = _parse_subscription_id(d.pop("subscription_id", UNSET))

        def _parse_detail(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

        billing_event_entry = cls(
            id=id,
            type_=type_,
            created=created,
            received_at=received_at,
            outcome=outcome,
            user_id=user_id,
            subscription_id=subscription_id,
            detail=detail,
        )

        billing_event_entry.additional_properties = d
        return billing_event_entry

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
