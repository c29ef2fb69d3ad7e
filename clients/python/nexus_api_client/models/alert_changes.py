from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.email_changes import EmailChanges
    from ..models.webhook_changes import WebhookChanges


T = TypeVar("T", bound="AlertChanges")


@_attrs_define
class AlertChanges:
    """`PUT /me/alerts`: what to change; fields left out keep their value.

    Example:
        {'email': {'daily_summary': None, 'errors': None, 'fills': None, 'gate_blocks': True}, 'webhook': {'events':
            ['fills', 'errors'], 'url': 'https://example.com/nexus-alerts'}}

    """

    email: EmailChanges | None | Unset = UNSET
    webhook: None | Unset | WebhookChanges = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.email_changes import EmailChanges  # noqa: PLC0415
        from ..models.webhook_changes import WebhookChanges  # noqa: PLC0415

        email: dict[str, Any] | None | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        elif isinstance(self.email, EmailChanges):
            email = self.email.to_dict()
        else:
            email = self.email

        webhook: dict[str, Any] | None | Unset
        if isinstance(self.webhook, Unset):
            webhook = UNSET
        elif isinstance(self.webhook, WebhookChanges):
            webhook = self.webhook.to_dict()
        else:
            webhook = self.webhook

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if email is not UNSET:
            field_dict["email"] = email
        if webhook is not UNSET:
            field_dict["webhook"] = webhook

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.email_changes import EmailChanges  # noqa: PLC0415
        from ..models.webhook_changes import WebhookChanges  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_email(data: object) -> EmailChanges | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                email_type_0 = EmailChanges.from_dict(data)

                return email_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EmailChanges | None | Unset, data)

        email = _parse_email(d.pop("email", UNSET))

        def _parse_webhook(data: object) -> None | Unset | WebhookChanges:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                webhook_type_0 = WebhookChanges.from_dict(data)

                return webhook_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | WebhookChanges, data)

        webhook = _parse_webhook(d.pop("webhook", UNSET))

        alert_changes = cls(
            email=email,
            webhook=webhook,
        )

        alert_changes.additional_properties = d
        return alert_changes

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
