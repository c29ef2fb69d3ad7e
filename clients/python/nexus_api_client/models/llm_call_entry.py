from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.exchange import Exchange
from ..models.gate_action_name import GateActionName
from ..models.interval_name import IntervalName
from ..models.verdict import Verdict
from ..types import UNSET, Unset

T = TypeVar("T", bound="LlmCallEntry")


@_attrs_define
class LlmCallEntry:
    """One call of the LLM advisor."""

    id: int
    """ Its id (page with `before`). """
    at: datetime.datetime
    """ When. """
    provider: str
    """ `openai` or `anthropic`. """
    model: str
    """ The model. """
    exchange: Exchange
    """ A venue. """
    symbol: str
    """ The pair. """
    interval: IntervalName
    """ A candle interval. """
    candle: datetime.datetime
    """ The open time of the candle decided on. """
    action: GateActionName
    """ What the market-regime gate was asked about. """
    prompt_hash: str
    """ SHA-256 of the prompt. """
    request: str
    """ The request as sent (JSON; never the key). """
    tokens_in: int
    """ Input tokens. """
    tokens_out: int
    """ Output tokens. """
    latency_ms: int
    """ How long it took. """
    outcome: str
    """ `answered`, or why not. """
    response: None | str | Unset = UNSET
    """ The answer as received. """
    cost_usd: None | str | Unset = UNSET
    """ Cost in USD, a decimal string (null: a model without a price). """
    verdict: None | Unset | Verdict = UNSET
    reason: None | str | Unset = UNSET
    """ The verdict's reason, or the error. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        at = self.at.isoformat()

        provider = self.provider

        model = self.model

        exchange = self.exchange.value

        symbol = self.symbol

        interval = self.interval.value

        candle = self.candle.isoformat()

        action = self.action.value

        prompt_hash = self.prompt_hash

        request = self.request

        tokens_in = self.tokens_in

        tokens_out = self.tokens_out

        latency_ms = self.latency_ms

        outcome = self.outcome

        response: None | str | Unset
        if isinstance(self.response, Unset):
            response = UNSET
        else:
            response = self.response

        cost_usd: None | str | Unset
        if isinstance(self.cost_usd, Unset):
            cost_usd = UNSET
        else:
            cost_usd = self.cost_usd

        verdict: None | str | Unset
        if isinstance(self.verdict, Unset):
            verdict = UNSET
        elif isinstance(self.verdict, Verdict):
            verdict = self.verdict.value
        else:
            verdict = self.verdict

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "at": at,
                "provider": provider,
                "model": model,
                "exchange": exchange,
                "symbol": symbol,
                "interval": interval,
                "candle": candle,
                "action": action,
                "prompt_hash": prompt_hash,
                "request": request,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "latency_ms": latency_ms,
                "outcome": outcome,
            }
        )
        if response is not UNSET:
            field_dict["response"] = response
        if cost_usd is not UNSET:
            field_dict["cost_usd"] = cost_usd
        if verdict is not UNSET:
            field_dict["verdict"] = verdict
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        provider = d.pop("provider")

        model = d.pop("model")

        exchange = Exchange(d.pop("exchange"))

        symbol = d.pop("symbol")

        interval = IntervalName(d.pop("interval"))

        candle = datetime.datetime.fromisoformat(d.pop("candle"))

        action = GateActionName(d.pop("action"))

        prompt_hash = d.pop("prompt_hash")

        request = d.pop("request")

        tokens_in = d.pop("tokens_in")

        tokens_out = d.pop("tokens_out")

        latency_ms = d.pop("latency_ms")

        outcome = d.pop("outcome")

        def _parse_response(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        response = _parse_response(d.pop("response", UNSET))

        def _parse_cost_usd(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cost_usd = _parse_cost_usd(d.pop("cost_usd", UNSET))

        def _parse_verdict(data: object) -> None | Unset | Verdict:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                verdict_type_0 = Verdict(data)

                return verdict_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | Verdict, data)

        verdict = _parse_verdict(d.pop("verdict", UNSET))

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        llm_call_entry = cls(
            id=id,
            at=at,
            provider=provider,
            model=model,
            exchange=exchange,
            symbol=symbol,
            interval=interval,
            candle=candle,
            action=action,
            prompt_hash=prompt_hash,
            request=request,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=latency_ms,
            outcome=outcome,
            response=response,
            cost_usd=cost_usd,
            verdict=verdict,
            reason=reason,
        )

        llm_call_entry.additional_properties = d
        return llm_call_entry

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
