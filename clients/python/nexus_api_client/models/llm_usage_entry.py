from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="LlmUsageEntry")


@_attrs_define
class LlmUsageEntry:
    """One provider's and model's use of the LLM advisor over a period."""

    provider: str
    """ `openai` or `anthropic`. """
    model: str
    """ The model. """
    calls: int
    """ Calls made. """
    failures: int
    """ Calls without an answer. """
    tokens_in: int
    """ Input tokens. """
    tokens_out: int
    """ Output tokens. """
    cost_usd: str
    """ Cost in USD, a decimal string (calls of a model without a price count 0). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        provider = self.provider

        model = self.model

        calls = self.calls

        failures = self.failures

        tokens_in = self.tokens_in

        tokens_out = self.tokens_out

        cost_usd = self.cost_usd

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "provider": provider,
                "model": model,
                "calls": calls,
                "failures": failures,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost_usd": cost_usd,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        provider = d.pop("provider")

        model = d.pop("model")

        calls = d.pop("calls")

        failures = d.pop("failures")

        tokens_in = d.pop("tokens_in")

        tokens_out = d.pop("tokens_out")

        cost_usd = d.pop("cost_usd")

        llm_usage_entry = cls(
            provider=provider,
            model=model,
            calls=calls,
            failures=failures,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=cost_usd,
        )

        llm_usage_entry.additional_properties = d
        return llm_usage_entry

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
