from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.key_info import KeyInfo
from ...models.new_key import NewKey
from ...types import Response


def _get_kwargs(
    *,
    body: NewKey,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/exchange-keys",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | KeyInfo | None:
    if response.status_code == 201:
        response_201 = KeyInfo.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorBody | KeyInfo]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: NewKey,
) -> Response[ErrorBody | KeyInfo]:
    """Adds an exchange API key: the venue is asked whether it works and what it may do
    first (Paper keys need no check); a key that does not work, or may not trade, is
    refused with the venue's reason. The secret is stored encrypted and never returned.

    Args:
        body (NewKey): `POST /exchange-keys`. Example: {'exchange': 'paper', 'key': 'paper',
            'label': 'Practice', 'passphrase': None, 'secret': 'paper'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | KeyInfo]
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
    body: NewKey,
) -> ErrorBody | KeyInfo | None:
    """Adds an exchange API key: the venue is asked whether it works and what it may do
    first (Paper keys need no check); a key that does not work, or may not trade, is
    refused with the venue's reason. The secret is stored encrypted and never returned.

    Args:
        body (NewKey): `POST /exchange-keys`. Example: {'exchange': 'paper', 'key': 'paper',
            'label': 'Practice', 'passphrase': None, 'secret': 'paper'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | KeyInfo
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: NewKey,
) -> Response[ErrorBody | KeyInfo]:
    """Adds an exchange API key: the venue is asked whether it works and what it may do
    first (Paper keys need no check); a key that does not work, or may not trade, is
    refused with the venue's reason. The secret is stored encrypted and never returned.

    Args:
        body (NewKey): `POST /exchange-keys`. Example: {'exchange': 'paper', 'key': 'paper',
            'label': 'Practice', 'passphrase': None, 'secret': 'paper'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | KeyInfo]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: NewKey,
) -> ErrorBody | KeyInfo | None:
    """Adds an exchange API key: the venue is asked whether it works and what it may do
    first (Paper keys need no check); a key that does not work, or may not trade, is
    refused with the venue's reason. The secret is stored encrypted and never returned.

    Args:
        body (NewKey): `POST /exchange-keys`. Example: {'exchange': 'paper', 'key': 'paper',
            'label': 'Practice', 'passphrase': None, 'secret': 'paper'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | KeyInfo
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
