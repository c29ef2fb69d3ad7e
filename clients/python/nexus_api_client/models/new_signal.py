from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.exchange import Exchange
from ..models.signal_action import SignalAction
from ..types import UNSET, Unset

T = TypeVar("T", bound="NewSignal")


@_attrs_define
class NewSignal:
    """`POST /signals`.

    Example:
        {'action': 'entry', 'exchange': 'paper', 'idempotency_key': 'alert-42', 'source': 'tv', 'symbol': 'BTC/USDT',
            'token': None}

    """

    source: str
    """ The source's name, as configured by the operator. """
    action: SignalAction
    """ What the signal asks bots to do. """
    exchange: Exchange
    """ A venue. """
    symbol: str
    """ The pair, like `BTC/USDT`. """
    token: None | str | Unset = UNSET
    """ The source's secret, when the request is not signed (TradingView alerts, which can
    only send a body). Weaker than a signature: the secret itself travels with every
    request, and a captured request can be sent again (only its `idempotency_key` keeps
    a repeat from trading twice). """
    idempotency_key: None | str | Unset = UNSET
    """ The sender's id for this signal: a repeated delivery with the same key is ignored.
    Without one, every delivery is a new signal. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        source = self.source

        action = self.action.value

        exchange = self.exchange.value

        symbol = self.symbol

        token: None | str | Unset
        if isinstance(self.token, Unset):
            token = UNSET
        else:
            token = self.token

        idempotency_key: None | str | Unset
        if isinstance(self.idempotency_key, Unset):
            idempotency_key = UNSET
        else:
            idempotency_key = self.idempotency_key

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "source": source,
                "action": action,
                "exchange": exchange,
                "symbol": symbol,
            }
        )
        if token is not UNSET:
            field_dict["token"] = token
        if idempotency_key is not UNSET:
            field_dict["idempotency_key"] = idempotency_key

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        source = d.pop("source")

        action = SignalAction(d.pop("action"))

        exchange = Exchange(d.pop("exchange"))

        symbol = d.pop("symbol")

        def _parse_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        token = _parse_token(d.pop("token", UNSET))

        def _parse_idempotency_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        idempotency_key = _parse_idempotency_key(d.pop("idempotency_key", UNSET))

        new_signal = cls(
            source=source,
            action=action,
            exchange=exchange,
            symbol=symbol,
            token=token,
            idempotency_key=idempotency_key,
        )

        new_signal.additional_properties = d
        return new_signal

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
