from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.done import Done
from ...models.error_body import ErrorBody
from ...models.reset import Reset
from ...types import Response


def _get_kwargs(
    *,
    body: Reset,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/auth/password/reset",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Done | ErrorBody | None:
    if response.status_code == 200:
        response_200 = Done.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Done | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Reset,
) -> Response[Done | ErrorBody]:
    """Sets a new password with the token from the reset email, and signs out every
    session of the account. Every other reset link of the account stops working.

    Args:
        body (Reset): `POST /auth/password/reset`. Example: {'password': 'a new passphrase, long
            enough', 'token': 'Zx8cV6bN4mQ2wE0rT9yU7iO5pA3sD1fG8hJ6kL4zX2c'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Done | ErrorBody]
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
    client: AuthenticatedClient | Client,
    body: Reset,
) -> Done | ErrorBody | None:
    """Sets a new password with the token from the reset email, and signs out every
    session of the account. Every other reset link of the account stops working.

    Args:
        body (Reset): `POST /auth/password/reset`. Example: {'password': 'a new passphrase, long
            enough', 'token': 'Zx8cV6bN4mQ2wE0rT9yU7iO5pA3sD1fG8hJ6kL4zX2c'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Done | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Reset,
) -> Response[Done | ErrorBody]:
    """Sets a new password with the token from the reset email, and signs out every
    session of the account. Every other reset link of the account stops working.

    Args:
        body (Reset): `POST /auth/password/reset`. Example: {'password': 'a new passphrase, long
            enough', 'token': 'Zx8cV6bN4mQ2wE0rT9yU7iO5pA3sD1fG8hJ6kL4zX2c'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Done | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: Reset,
) -> Done | ErrorBody | None:
    """Sets a new password with the token from the reset email, and signs out every
    session of the account. Every other reset link of the account stops working.

    Args:
        body (Reset): `POST /auth/password/reset`. Example: {'password': 'a new passphrase, long
            enough', 'token': 'Zx8cV6bN4mQ2wE0rT9yU7iO5pA3sD1fG8hJ6kL4zX2c'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Done | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
