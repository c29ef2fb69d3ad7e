from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.credentials import Credentials
from ...models.error_body import ErrorBody
from ...models.session_body import SessionBody
from ...types import Response


def _get_kwargs(
    *,
    body: Credentials,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/auth/login",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SessionBody | None:
    if response.status_code == 200:
        response_200 = SessionBody.from_dict(response.json())

        return response_200

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | SessionBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Credentials,
) -> Response[ErrorBody | SessionBody]:
    """Signs in with email and password: returns a session token (7 days, refreshable
    for up to 30 days in all) and sets it as an HttpOnly cookie with a CSRF cookie for
    browsers, and a long-lived device cookie (`nexus_device`, sent only to
    `/api/v1/auth`) that gives this browser its own budget of failed sign-ins to the
    account. Only failures count against a client or an account, and a success clears
    the account's count.

    Args:
        body (Credentials): `POST /auth/login`. Example: {'email': 'ann@example.com', 'password':
            'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SessionBody]
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
    body: Credentials,
) -> ErrorBody | SessionBody | None:
    """Signs in with email and password: returns a session token (7 days, refreshable
    for up to 30 days in all) and sets it as an HttpOnly cookie with a CSRF cookie for
    browsers, and a long-lived device cookie (`nexus_device`, sent only to
    `/api/v1/auth`) that gives this browser its own budget of failed sign-ins to the
    account. Only failures count against a client or an account, and a success clears
    the account's count.

    Args:
        body (Credentials): `POST /auth/login`. Example: {'email': 'ann@example.com', 'password':
            'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SessionBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Credentials,
) -> Response[ErrorBody | SessionBody]:
    """Signs in with email and password: returns a session token (7 days, refreshable
    for up to 30 days in all) and sets it as an HttpOnly cookie with a CSRF cookie for
    browsers, and a long-lived device cookie (`nexus_device`, sent only to
    `/api/v1/auth`) that gives this browser its own budget of failed sign-ins to the
    account. Only failures count against a client or an account, and a success clears
    the account's count.

    Args:
        body (Credentials): `POST /auth/login`. Example: {'email': 'ann@example.com', 'password':
            'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SessionBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: Credentials,
) -> ErrorBody | SessionBody | None:
    """Signs in with email and password: returns a session token (7 days, refreshable
    for up to 30 days in all) and sets it as an HttpOnly cookie with a CSRF cookie for
    browsers, and a long-lived device cookie (`nexus_device`, sent only to
    `/api/v1/auth`) that gives this browser its own budget of failed sign-ins to the
    account. Only failures count against a client or an account, and a success clears
    the account's count.

    Args:
        body (Credentials): `POST /auth/login`. Example: {'email': 'ann@example.com', 'password':
            'correct horse battery staple'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SessionBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
