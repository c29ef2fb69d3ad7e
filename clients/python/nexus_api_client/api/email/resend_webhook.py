from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.email_webhook_answer import EmailWebhookAnswer
from ...models.error_body import ErrorBody
from ...models.resend_webhook_body import ResendWebhookBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: ResendWebhookBody,
    svix_id: str | Unset = UNSET,
    svix_timestamp: str | Unset = UNSET,
    svix_signature: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(svix_id, Unset):
        headers["svix-id"] = svix_id

    if not isinstance(svix_timestamp, Unset):
        headers["svix-timestamp"] = svix_timestamp

    if not isinstance(svix_signature, Unset):
        headers["svix-signature"] = svix_signature

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/email/webhook",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> EmailWebhookAnswer | ErrorBody | None:
    if response.status_code == 200:
        response_200 = EmailWebhookAnswer.from_dict(response.json())

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
) -> Response[EmailWebhookAnswer | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ResendWebhookBody,
    svix_id: str | Unset = UNSET,
    svix_timestamp: str | Unset = UNSET,
    svix_signature: str | Unset = UNSET,
) -> Response[EmailWebhookAnswer | ErrorBody]:
    """Resend's delivery reports (set this URL as a Resend webhook; its signing secret
    goes in `NEXUS_RESEND_WEBHOOK_SECRET`). The Svix headers are checked on the raw
    body, 5 minutes' tolerance.

    Args:
        svix_id (str | Unset):
        svix_timestamp (str | Unset):
        svix_signature (str | Unset):
        body (ResendWebhookBody): A Resend webhook event object, exactly as Resend (through Svix)
            sends it. Example: {'created_at': '2026-01-01T00:00:00.000Z', 'data': {'email_id':
            '4ef9a417-02e9-4d39-ad75-9611e0fcc33c', 'subject': 'Nexus: confirm your address', 'to':
            ['ann@example.com']}, 'type': 'email.delivered'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EmailWebhookAnswer | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        svix_id=svix_id,
        svix_timestamp=svix_timestamp,
        svix_signature=svix_signature,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ResendWebhookBody,
    svix_id: str | Unset = UNSET,
    svix_timestamp: str | Unset = UNSET,
    svix_signature: str | Unset = UNSET,
) -> EmailWebhookAnswer | ErrorBody | None:
    """Resend's delivery reports (set this URL as a Resend webhook; its signing secret
    goes in `NEXUS_RESEND_WEBHOOK_SECRET`). The Svix headers are checked on the raw
    body, 5 minutes' tolerance.

    Args:
        svix_id (str | Unset):
        svix_timestamp (str | Unset):
        svix_signature (str | Unset):
        body (ResendWebhookBody): A Resend webhook event object, exactly as Resend (through Svix)
            sends it. Example: {'created_at': '2026-01-01T00:00:00.000Z', 'data': {'email_id':
            '4ef9a417-02e9-4d39-ad75-9611e0fcc33c', 'subject': 'Nexus: confirm your address', 'to':
            ['ann@example.com']}, 'type': 'email.delivered'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EmailWebhookAnswer | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
        svix_id=svix_id,
        svix_timestamp=svix_timestamp,
        svix_signature=svix_signature,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ResendWebhookBody,
    svix_id: str | Unset = UNSET,
    svix_timestamp: str | Unset = UNSET,
    svix_signature: str | Unset = UNSET,
) -> Response[EmailWebhookAnswer | ErrorBody]:
    """Resend's delivery reports (set this URL as a Resend webhook; its signing secret
    goes in `NEXUS_RESEND_WEBHOOK_SECRET`). The Svix headers are checked on the raw
    body, 5 minutes' tolerance.

    Args:
        svix_id (str | Unset):
        svix_timestamp (str | Unset):
        svix_signature (str | Unset):
        body (ResendWebhookBody): A Resend webhook event object, exactly as Resend (through Svix)
            sends it. Example: {'created_at': '2026-01-01T00:00:00.000Z', 'data': {'email_id':
            '4ef9a417-02e9-4d39-ad75-9611e0fcc33c', 'subject': 'Nexus: confirm your address', 'to':
            ['ann@example.com']}, 'type': 'email.delivered'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EmailWebhookAnswer | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
        svix_id=svix_id,
        svix_timestamp=svix_timestamp,
        svix_signature=svix_signature,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ResendWebhookBody,
    svix_id: str | Unset = UNSET,
    svix_timestamp: str | Unset = UNSET,
    svix_signature: str | Unset = UNSET,
) -> EmailWebhookAnswer | ErrorBody | None:
    """Resend's delivery reports (set this URL as a Resend webhook; its signing secret
    goes in `NEXUS_RESEND_WEBHOOK_SECRET`). The Svix headers are checked on the raw
    body, 5 minutes' tolerance.

    Args:
        svix_id (str | Unset):
        svix_timestamp (str | Unset):
        svix_signature (str | Unset):
        body (ResendWebhookBody): A Resend webhook event object, exactly as Resend (through Svix)
            sends it. Example: {'created_at': '2026-01-01T00:00:00.000Z', 'data': {'email_id':
            '4ef9a417-02e9-4d39-ad75-9611e0fcc33c', 'subject': 'Nexus: confirm your address', 'to':
            ['ann@example.com']}, 'type': 'email.delivered'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EmailWebhookAnswer | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            svix_id=svix_id,
            svix_timestamp=svix_timestamp,
            svix_signature=svix_signature,
        )
    ).parsed
