from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="LinkRequired")


@_attrs_define
class LinkRequired:
    """The answer of a Google sign-in whose address belongs to an account it is not linked to."""

    code: str
    """ `link_required`. """
    message: str
    """ What to do. """
    link_token: str
    """ With the account's password at `POST /auth/oauth/google/link`, links this Google
    identity to the account (15 minutes, once). The owner was also emailed a link that
    needs no password. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        message = self.message

        link_token = self.link_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
                "link_token": link_token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        code = d.pop("code")

        message = d.pop("message")

        link_token = d.pop("link_token")

        link_required = cls(
            code=code,
            message=message,
            link_token=link_token,
        )

        link_required.additional_properties = d
        return link_required

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
