from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SessionBody")


@_attrs_define
class SessionBody:
    """A new session."""

    token: str
    """ The session token: send it as `Authorization: Bearer <token>`. It is also set as the
    HttpOnly `nexus_session` cookie for browsers. """
    expires_at: datetime.datetime
    """ When it stops working (refresh before then). """
    csrf_token: str
    """ Browsers repeat this (also in the `nexus_csrf` cookie) as the `X-CSRF-Token` header
    on requests that change something. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        token = self.token

        expires_at = self.expires_at.isoformat()

        csrf_token = self.csrf_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "token": token,
                "expires_at": expires_at,
                "csrf_token": csrf_token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        token = d.pop("token")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        csrf_token = d.pop("csrf_token")

        session_body = cls(
            token=token,
            expires_at=expires_at,
            csrf_token=csrf_token,
        )

        session_body.additional_properties = d
        return session_body

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
