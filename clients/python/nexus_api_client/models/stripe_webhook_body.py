from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="StripeWebhookBody")


@_attrs_define
class StripeWebhookBody:
    """A Stripe event object, exactly as Stripe sends it.

    Example:
        {'created': 1767225600, 'data': {'object': {'customer': 'cus_RbCdEfGhIjKl', 'id': 'in_1QdZ8bA1b2C3d4E5',
            'object': 'invoice', 'subscription': 'sub_1QdZ7aA1b2C3d4E5'}}, 'id': 'evt_1QdZ8cA1b2C3d4E5', 'object': 'event',
            'type': 'invoice.paid'}

    """

    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        stripe_webhook_body = cls()

        stripe_webhook_body.additional_properties = d
        return stripe_webhook_body

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
