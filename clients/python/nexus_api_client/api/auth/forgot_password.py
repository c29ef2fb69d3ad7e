from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.done import Done
from ...models.error_body import ErrorBody
from ...models.forgot import Forgot
from ...types import Response


def _get_kwargs(
    *,
    body: Forgot,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/auth/password/forgot",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Done | ErrorBody | None:
    if response.status_code == 202:
        response_202 = Done.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

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
    body: Forgot,
) -> Response[Done | ErrorBody]:
    """Emails a password-reset link (valid 1 h, once; using one kills the others) if an
    account has this address. The answer is the same whether or not one does, and
    whether or not the address has had its share of emails for now (5 per 15 minutes:
    the links already sent keep working).

    Args:
        body (Forgot): `POST /auth/password/forgot`. Example: {'email': 'ann@example.com'}.

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
    body: Forgot,
) -> Done | ErrorBody | None:
    """Emails a password-reset link (valid 1 h, once; using one kills the others) if an
    account has this address. The answer is the same whether or not one does, and
    whether or not the address has had its share of emails for now (5 per 15 minutes:
    the links already sent keep working).

    Args:
        body (Forgot): `POST /auth/password/forgot`. Example: {'email': 'ann@example.com'}.

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
    body: Forgot,
) -> Response[Done | ErrorBody]:
    """Emails a password-reset link (valid 1 h, once; using one kills the others) if an
    account has this address. The answer is the same whether or not one does, and
    whether or not the address has had its share of emails for now (5 per 15 minutes:
    the links already sent keep working).

    Args:
        body (Forgot): `POST /auth/password/forgot`. Example: {'email': 'ann@example.com'}.

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
    body: Forgot,
) -> Done | ErrorBody | None:
    """Emails a password-reset link (valid 1 h, once; using one kills the others) if an
    account has this address. The answer is the same whether or not one does, and
    whether or not the address has had its share of emails for now (5 per 15 minutes:
    the links already sent keep working).

    Args:
        body (Forgot): `POST /auth/password/forgot`. Example: {'email': 'ann@example.com'}.

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
