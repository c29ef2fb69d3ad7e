from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ResendWebhookBody")


@_attrs_define
class ResendWebhookBody:
    """A Resend webhook event object, exactly as Resend (through Svix) sends it.

    Example:
        {'created_at': '2026-01-01T00:00:00.000Z', 'data': {'email_id': '4ef9a417-02e9-4d39-ad75-9611e0fcc33c',
            'subject': 'Nexus: confirm your address', 'to': ['ann@example.com']}, 'type': 'email.delivered'}

    """

    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        resend_webhook_body = cls()

        resend_webhook_body.additional_properties = d
        return resend_webhook_body

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
