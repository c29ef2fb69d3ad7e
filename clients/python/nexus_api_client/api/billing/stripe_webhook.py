from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.stripe_webhook_body import StripeWebhookBody
from ...models.webhook_answer import WebhookAnswer
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: StripeWebhookBody,
    stripe_signature: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(stripe_signature, Unset):
        headers["Stripe-Signature"] = stripe_signature

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/billing/webhook",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | WebhookAnswer | None:
    if response.status_code == 200:
        response_200 = WebhookAnswer.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

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
) -> Response[ErrorBody | WebhookAnswer]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: StripeWebhookBody,
    stripe_signature: str | Unset = UNSET,
) -> Response[ErrorBody | WebhookAnswer]:
    """Stripe's events (set this URL as the webhook endpoint, API version
    `2026-07-29.dahlia`). The `Stripe-Signature` header is checked on the raw body;
    each event is processed once, and an event older than what is stored never
    overwrites it.

    Args:
        stripe_signature (str | Unset):
        body (StripeWebhookBody): A Stripe event object, exactly as Stripe sends it. Example:
            {'created': 1767225600, 'data': {'object': {'customer': 'cus_RbCdEfGhIjKl', 'id':
            'in_1QdZ8bA1b2C3d4E5', 'object': 'invoice', 'subscription': 'sub_1QdZ7aA1b2C3d4E5'}},
            'id': 'evt_1QdZ8cA1b2C3d4E5', 'object': 'event', 'type': 'invoice.paid'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | WebhookAnswer]
    """

    kwargs = _get_kwargs(
        body=body,
        stripe_signature=stripe_signature,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: StripeWebhookBody,
    stripe_signature: str | Unset = UNSET,
) -> ErrorBody | WebhookAnswer | None:
    """Stripe's events (set this URL as the webhook endpoint, API version
    `2026-07-29.dahlia`). The `Stripe-Signature` header is checked on the raw body;
    each event is processed once, and an event older than what is stored never
    overwrites it.

    Args:
        stripe_signature (str | Unset):
        body (StripeWebhookBody): A Stripe event object, exactly as Stripe sends it. Example:
            {'created': 1767225600, 'data': {'object': {'customer': 'cus_RbCdEfGhIjKl', 'id':
            'in_1QdZ8bA1b2C3d4E5', 'object': 'invoice', 'subscription': 'sub_1QdZ7aA1b2C3d4E5'}},
            'id': 'evt_1QdZ8cA1b2C3d4E5', 'object': 'event', 'type': 'invoice.paid'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | WebhookAnswer
    """

    return sync_detailed(
        client=client,
        body=body,
        stripe_signature=stripe_signature,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: StripeWebhookBody,
    stripe_signature: str | Unset = UNSET,
) -> Response[ErrorBody | WebhookAnswer]:
    """Stripe's events (set this URL as the webhook endpoint, API version
    `2026-07-29.dahlia`). The `Stripe-Signature` header is checked on the raw body;
    each event is processed once, and an event older than what is stored never
    overwrites it.

    Args:
        stripe_signature (str | Unset):
        body (StripeWebhookBody): A Stripe event object, exactly as Stripe sends it. Example:
            {'created': 1767225600, 'data': {'object': {'customer': 'cus_RbCdEfGhIjKl', 'id':
            'in_1QdZ8bA1b2C3d4E5', 'object': 'invoice', 'subscription': 'sub_1QdZ7aA1b2C3d4E5'}},
            'id': 'evt_1QdZ8cA1b2C3d4E5', 'object': 'event', 'type': 'invoice.paid'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | WebhookAnswer]
    """

    kwargs = _get_kwargs(
        body=body,
        stripe_signature=stripe_signature,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: StripeWebhookBody,
    stripe_signature: str | Unset = UNSET,
) -> ErrorBody | WebhookAnswer | None:
    """Stripe's events (set this URL as the webhook endpoint, API version
    `2026-07-29.dahlia`). The `Stripe-Signature` header is checked on the raw body;
    each event is processed once, and an event older than what is stored never
    overwrites it.

    Args:
        stripe_signature (str | Unset):
        body (StripeWebhookBody): A Stripe event object, exactly as Stripe sends it. Example:
            {'created': 1767225600, 'data': {'object': {'customer': 'cus_RbCdEfGhIjKl', 'id':
            'in_1QdZ8bA1b2C3d4E5', 'object': 'invoice', 'subscription': 'sub_1QdZ7aA1b2C3d4E5'}},
            'id': 'evt_1QdZ8cA1b2C3d4E5', 'object': 'event', 'type': 'invoice.paid'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | WebhookAnswer
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            stripe_signature=stripe_signature,
        )
    ).parsed
