from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="WebhookParameters")


@_attrs_define
class WebhookParameters:
    """A `webhook` bot's parameters: the outside signal source it follows."""

    source: str
    """ The source's name, as the operator configured it. """

    def to_dict(self) -> dict[str, Any]:
        source = self.source

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "source": source,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        source = d.pop("source")

        webhook_parameters = cls(
            source=source,
        )

        return webhook_parameters
