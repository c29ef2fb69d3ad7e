from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.bot import Bot
from ...models.error_body import ErrorBody
from ...models.new_bot import NewBot
from ...types import Response


def _get_kwargs(
    *,
    body: NewBot,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/bots",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Bot | ErrorBody | None:
    if response.status_code == 201:
        response_201 = Bot.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Bot | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: NewBot,
) -> Response[Bot | ErrorBody]:
    """Creates a bot. `{"exchange":"paper","symbol":"BTC/USDT","strategy":"trend_breakout"}`
    is enough: sizing, pyramiding and gate have documented defaults.

    Args:
        body (NewBot): `POST /bots`. Only `exchange`, `symbol` and `strategy` are required.
            Example: {'exchange': 'paper', 'exchange_key_id': None, 'gate': None, 'interval': '1h',
            'name': 'BTC trend, hourly', 'paused': False, 'pyramid': None, 'sizing': {'method':
            {'percent': '10', 'type': 'percent_of_equity'}}, 'strategy': 'trend_breakout',
            'strategy_config': {'entry_period': 20, 'exit_period': 10}, 'symbol': 'BTC/USDT'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Bot | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: NewBot,
) -> Bot | ErrorBody | None:
    """Creates a bot. `{"exchange":"paper","symbol":"BTC/USDT","strategy":"trend_breakout"}`
    is enough: sizing, pyramiding and gate have documented defaults.

    Args:
        body (NewBot): `POST /bots`. Only `exchange`, `symbol` and `strategy` are required.
            Example: {'exchange': 'paper', 'exchange_key_id': None, 'gate': None, 'interval': '1h',
            'name': 'BTC trend, hourly', 'paused': False, 'pyramid': None, 'sizing': {'method':
            {'percent': '10', 'type': 'percent_of_equity'}}, 'strategy': 'trend_breakout',
            'strategy_config': {'entry_period': 20, 'exit_period': 10}, 'symbol': 'BTC/USDT'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Bot | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: NewBot,
) -> Response[Bot | ErrorBody]:
    """Creates a bot. `{"exchange":"paper","symbol":"BTC/USDT","strategy":"trend_breakout"}`
    is enough: sizing, pyramiding and gate have documented defaults.

    Args:
        body (NewBot): `POST /bots`. Only `exchange`, `symbol` and `strategy` are required.
            Example: {'exchange': 'paper', 'exchange_key_id': None, 'gate': None, 'interval': '1h',
            'name': 'BTC trend, hourly', 'paused': False, 'pyramid': None, 'sizing': {'method':
            {'percent': '10', 'type': 'percent_of_equity'}}, 'strategy': 'trend_breakout',
            'strategy_config': {'entry_period': 20, 'exit_period': 10}, 'symbol': 'BTC/USDT'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Bot | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: NewBot,
) -> Bot | ErrorBody | None:
    """Creates a bot. `{"exchange":"paper","symbol":"BTC/USDT","strategy":"trend_breakout"}`
    is enough: sizing, pyramiding and gate have documented defaults.

    Args:
        body (NewBot): `POST /bots`. Only `exchange`, `symbol` and `strategy` are required.
            Example: {'exchange': 'paper', 'exchange_key_id': None, 'gate': None, 'interval': '1h',
            'name': 'BTC trend, hourly', 'paused': False, 'pyramid': None, 'sizing': {'method':
            {'percent': '10', 'type': 'percent_of_equity'}}, 'strategy': 'trend_breakout',
            'strategy_config': {'entry_period': 20, 'exit_period': 10}, 'symbol': 'BTC/USDT'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Bot | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
