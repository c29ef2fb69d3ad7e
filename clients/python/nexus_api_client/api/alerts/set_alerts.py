from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.alert_changes import AlertChanges
from ...models.alert_settings import AlertSettings
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    *,
    body: AlertChanges,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/me/alerts",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AlertSettings | ErrorBody | None:
    if response.status_code == 200:
        response_200 = AlertSettings.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AlertSettings | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: AlertChanges,
) -> Response[AlertSettings | ErrorBody]:
    """Changes your alert preferences. Setting a new webhook URL answers its signing
    secret in `webhook.secret`: store it, it is not shown again (set the URL again for a
    new one). The URL must be `https://` and must not reach a private, loopback or
    link-local address.

    Args:
        body (AlertChanges): `PUT /me/alerts`: what to change; fields left out keep their value.
            Example: {'email': {'daily_summary': None, 'errors': None, 'fills': None, 'gate_blocks':
            True}, 'webhook': {'events': ['fills', 'errors'], 'url': 'https://example.com/nexus-
            alerts'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertSettings | ErrorBody]
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
    body: AlertChanges,
) -> AlertSettings | ErrorBody | None:
    """Changes your alert preferences. Setting a new webhook URL answers its signing
    secret in `webhook.secret`: store it, it is not shown again (set the URL again for a
    new one). The URL must be `https://` and must not reach a private, loopback or
    link-local address.

    Args:
        body (AlertChanges): `PUT /me/alerts`: what to change; fields left out keep their value.
            Example: {'email': {'daily_summary': None, 'errors': None, 'fills': None, 'gate_blocks':
            True}, 'webhook': {'events': ['fills', 'errors'], 'url': 'https://example.com/nexus-
            alerts'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertSettings | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: AlertChanges,
) -> Response[AlertSettings | ErrorBody]:
    """Changes your alert preferences. Setting a new webhook URL answers its signing
    secret in `webhook.secret`: store it, it is not shown again (set the URL again for a
    new one). The URL must be `https://` and must not reach a private, loopback or
    link-local address.

    Args:
        body (AlertChanges): `PUT /me/alerts`: what to change; fields left out keep their value.
            Example: {'email': {'daily_summary': None, 'errors': None, 'fills': None, 'gate_blocks':
            True}, 'webhook': {'events': ['fills', 'errors'], 'url': 'https://example.com/nexus-
            alerts'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertSettings | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: AlertChanges,
) -> AlertSettings | ErrorBody | None:
    """Changes your alert preferences. Setting a new webhook URL answers its signing
    secret in `webhook.secret`: store it, it is not shown again (set the URL again for a
    new one). The URL must be `https://` and must not reach a private, loopback or
    link-local address.

    Args:
        body (AlertChanges): `PUT /me/alerts`: what to change; fields left out keep their value.
            Example: {'email': {'daily_summary': None, 'errors': None, 'fills': None, 'gate_blocks':
            True}, 'webhook': {'events': ['fills', 'errors'], 'url': 'https://example.com/nexus-
            alerts'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertSettings | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
