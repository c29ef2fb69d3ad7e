from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.billing_status import BillingStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.bot_counts import BotCounts


T = TypeVar("T", bound="BillingView")


@_attrs_define
class BillingView:
    """Your plan now."""

    plan: str
    """ The plan in force (`free`, `pro`, `enterprise`). """
    status: BillingStatus
    """ A subscription's status: Stripe's, or `none` without one. """
    cancel_at_period_end: bool
    """ Whether the subscription ends at the period's end instead of renewing. """
    limits: BotCounts
    """ Counts of running bots and their pairs (limits: null means unlimited). """
    usage: BotCounts
    """ Counts of running bots and their pairs (limits: null means unlimited). """
    billing_enabled: bool
    """ Whether billing is on (plans can be bought); off, an admin sets plans. """
    trial_ends_at: datetime.datetime | None | Unset = UNSET
    """ When the trial ends (or ended). """
    current_period_end: datetime.datetime | None | Unset = UNSET
    """ When the current period ends: the next renewal, or the end when
    `cancel_at_period_end`. """
    grace_until: datetime.datetime | None | Unset = UNSET
    """ While `past_due`: until when the plan is kept unless a payment succeeds. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan

        status = self.status.value

        cancel_at_period_end = self.cancel_at_period_end

        limits = self.limits.to_dict()

        usage = self.usage.to_dict()

        billing_enabled = self.billing_enabled

        trial_ends_at: None | str | Unset
        if isinstance(self.trial_ends_at, Unset):
            trial_ends_at = UNSET
        elif isinstance(self.trial_ends_at, datetime.datetime):
            trial_ends_at = self.trial_ends_at.isoformat()
        else:
            trial_ends_at = self.trial_ends_at

        current_period_end: None | str | Unset
        if isinstance(self.current_period_end, Unset):
            current_period_end = UNSET
        elif isinstance(self.current_period_end, datetime.datetime):
            current_period_end = self.current_period_end.isoformat()
        else:
            current_period_end = self.current_period_end

        grace_until: None | str | Unset
        if isinstance(self.grace_until, Unset):
            grace_until = UNSET
        elif isinstance(self.grace_until, datetime.datetime):
            grace_until = self.grace_until.isoformat()
        else:
            grace_until = self.grace_until

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "plan": plan,
                "status": status,
                "cancel_at_period_end": cancel_at_period_end,
                "limits": limits,
                "usage": usage,
                "billing_enabled": billing_enabled,
            }
        )
        if trial_ends_at is not UNSET:
            field_dict["trial_ends_at"] = trial_ends_at
        if current_period_end is not UNSET:
            field_dict["current_period_end"] = current_period_end
        if grace_until is not UNSET:
            field_dict["grace_until"] = grace_until

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bot_counts import BotCounts  # noqa: PLC0415

        d = dict(src_dict)
        plan = d.pop("plan")

        status = BillingStatus(d.pop("status"))

        cancel_at_period_end = d.pop("cancel_at_period_end")

        limits = BotCounts.from_dict(d.pop("limits"))

        usage = BotCounts.from_dict(d.pop("usage"))

        billing_enabled = d.pop("billing_enabled")

        def _parse_trial_ends_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                trial_ends_at_type_0 = datetime.datetime.fromisoformat(data)

                return trial_ends_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        trial_ends_at = _parse_trial_ends_at(d.pop("trial_ends_at", UNSET))

        def _parse_current_period_end(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                current_period_end_type_0 = datetime.datetime.fromisoformat(data)

                return current_period_end_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        current_period_end = _parse_current_period_end(d.pop("current_period_end", UNSET))

        def _parse_grace_until(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                grace_until_type_0 = datetime.datetime.fromisoformat(data)

                return grace_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        grace_until = _parse_grace_until(d.pop("grace_until", UNSET))

        billing_view = cls(
            plan=plan,
            status=status,
            cancel_at_period_end=cancel_at_period_end,
            limits=limits,
            usage=usage,
            billing_enabled=billing_enabled,
            trial_ends_at=trial_ends_at,
            current_period_end=current_period_end,
            grace_until=grace_until,
        )

        billing_view.additional_properties = d
        return billing_view

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
