from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.email_changes import EmailChanges
    from ..models.webhook_changes import WebhookChanges


T = TypeVar("T", bound="AlertChanges")


@_attrs_define
class AlertChanges:
    """`PUT /me/alerts`: what to change; fields left out keep their value."""

    email: EmailChanges | Unset = UNSET
    """ Email preferences to change. """
    webhook: WebhookChanges | Unset = UNSET
    """ Webhook settings to change. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email: dict[str, Any] | Unset = UNSET
        if not isinstance(self.email, Unset):
            email = self.email.to_dict()

        webhook: dict[str, Any] | Unset = UNSET
        if not isinstance(self.webhook, Unset):
            webhook = self.webhook.to_dict()

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
        _email = d.pop("email", UNSET)
        email: EmailChanges | Unset
        if isinstance(_email, Unset):
            email = UNSET
        else:
            email = EmailChanges.from_dict(_email)

        _webhook = d.pop("webhook", UNSET)
        webhook: WebhookChanges | Unset
        if isinstance(_webhook, Unset):
            webhook = UNSET
        else:
            webhook = WebhookChanges.from_dict(_webhook)

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
