from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.email_preferences import EmailPreferences
    from ..models.webhook_preferences import WebhookPreferences


T = TypeVar("T", bound="AlertSettings")


@_attrs_define
class AlertSettings:
    """Your alert preferences."""

    email: EmailPreferences
    """ Which alerts are emailed. """
    webhook: WebhookPreferences
    """ Your webhook. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email = self.email.to_dict()

        webhook = self.webhook.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "email": email,
                "webhook": webhook,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.email_preferences import EmailPreferences  # noqa: PLC0415
        from ..models.webhook_preferences import WebhookPreferences  # noqa: PLC0415

        d = dict(src_dict)
        email = EmailPreferences.from_dict(d.pop("email"))

        webhook = WebhookPreferences.from_dict(d.pop("webhook"))

        alert_settings = cls(
            email=email,
            webhook=webhook,
        )

        alert_settings.additional_properties = d
        return alert_settings

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
