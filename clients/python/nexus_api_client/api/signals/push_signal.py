from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.new_signal import NewSignal
from ...models.signal_accepted import SignalAccepted
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: NewSignal,
    x_nexus_signature: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_nexus_signature, Unset):
        headers["X-Nexus-Signature"] = x_nexus_signature

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/signals",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SignalAccepted | None:
    if response.status_code == 202:
        response_202 = SignalAccepted.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | SignalAccepted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: NewSignal,
    x_nexus_signature: str | Unset = UNSET,
) -> Response[ErrorBody | SignalAccepted]:
    """Pushes a signal from an outside source into the fan-out.

     Sign the request with the source's secret: `X-Nexus-Signature: t=<unix
    seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, within 300 s of the
    server's clock; each signature is accepted once, so sign a retry again. Senders that
    can only send a body (TradingView) put the secret in `token` instead, which is
    weaker: it carries the secret itself and can be replayed.

    Args:
        x_nexus_signature (str | Unset):
        body (NewSignal): `POST /signals`. Example: {'action': 'entry', 'exchange': 'paper',
            'idempotency_key': 'alert-42', 'source': 'tv', 'symbol': 'BTC/USDT', 'token': None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SignalAccepted]
    """

    kwargs = _get_kwargs(
        body=body,
        x_nexus_signature=x_nexus_signature,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: NewSignal,
    x_nexus_signature: str | Unset = UNSET,
) -> ErrorBody | SignalAccepted | None:
    """Pushes a signal from an outside source into the fan-out.

     Sign the request with the source's secret: `X-Nexus-Signature: t=<unix
    seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, within 300 s of the
    server's clock; each signature is accepted once, so sign a retry again. Senders that
    can only send a body (TradingView) put the secret in `token` instead, which is
    weaker: it carries the secret itself and can be replayed.

    Args:
        x_nexus_signature (str | Unset):
        body (NewSignal): `POST /signals`. Example: {'action': 'entry', 'exchange': 'paper',
            'idempotency_key': 'alert-42', 'source': 'tv', 'symbol': 'BTC/USDT', 'token': None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SignalAccepted
    """

    return sync_detailed(
        client=client,
        body=body,
        x_nexus_signature=x_nexus_signature,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: NewSignal,
    x_nexus_signature: str | Unset = UNSET,
) -> Response[ErrorBody | SignalAccepted]:
    """Pushes a signal from an outside source into the fan-out.

     Sign the request with the source's secret: `X-Nexus-Signature: t=<unix
    seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, within 300 s of the
    server's clock; each signature is accepted once, so sign a retry again. Senders that
    can only send a body (TradingView) put the secret in `token` instead, which is
    weaker: it carries the secret itself and can be replayed.

    Args:
        x_nexus_signature (str | Unset):
        body (NewSignal): `POST /signals`. Example: {'action': 'entry', 'exchange': 'paper',
            'idempotency_key': 'alert-42', 'source': 'tv', 'symbol': 'BTC/USDT', 'token': None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SignalAccepted]
    """

    kwargs = _get_kwargs(
        body=body,
        x_nexus_signature=x_nexus_signature,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: NewSignal,
    x_nexus_signature: str | Unset = UNSET,
) -> ErrorBody | SignalAccepted | None:
    """Pushes a signal from an outside source into the fan-out.

     Sign the request with the source's secret: `X-Nexus-Signature: t=<unix
    seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, within 300 s of the
    server's clock; each signature is accepted once, so sign a retry again. Senders that
    can only send a body (TradingView) put the secret in `token` instead, which is
    weaker: it carries the secret itself and can be replayed.

    Args:
        x_nexus_signature (str | Unset):
        body (NewSignal): `POST /signals`. Example: {'action': 'entry', 'exchange': 'paper',
            'idempotency_key': 'alert-42', 'source': 'tv', 'symbol': 'BTC/USDT', 'token': None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SignalAccepted
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_nexus_signature=x_nexus_signature,
        )
    ).parsed
