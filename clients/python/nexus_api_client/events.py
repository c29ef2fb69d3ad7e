"""The live event stream (``GET /api/v1/events``) as an iterator of typed events.

Hand-written: openapi-python-client cannot stream, so ``scripts/generate-clients`` leaves
the operation out of the generated code and copies this module into the package as
``nexus_api_client.events``. The events are the generated ``Event`` model::

    from nexus_api_client import AuthenticatedClient
    from nexus_api_client.events import stream_events
    from nexus_api_client.models import EventType

    last = None
    with AuthenticatedClient(base_url="http://127.0.0.1:8080", token=token) as nexus:
        while True:
            for received in stream_events(nexus, last_event_id=last):
                last = received.id or last
                if received.event.type_ == EventType.RESET:
                    ...  # missed events: read the state again
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional, Union

from .client import AuthenticatedClient, Client
from .models.event import Event

__all__ = ["EventStreamError", "ReceivedEvent", "stream_events"]


@dataclass
class ReceivedEvent:
    """An event as received: its SSE id (what to resume after) and the event."""

    id: Optional[str]
    event: Event


class EventStreamError(Exception):
    """The API refused to open the stream (401, 429 ``too_many_streams``, 503)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def stream_events(client: Union[AuthenticatedClient, Client], last_event_id: Optional[str] = None) -> Iterator[ReceivedEvent]:
    """The session's events until the server ends the stream; after ``last_event_id`` when
    given (what was missed comes first, or a ``reset`` event)."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with client.get_httpx_client().stream("GET", "/api/v1/events", headers=headers, timeout=None) as response:
        if response.status_code != 200:
            response.read()
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise EventStreamError(
                response.status_code, body.get("code", "unknown"), body.get("message", response.reason_phrase)
            )
        event_id = None
        data = []
        for line in response.iter_lines():
            if line == "":
                if data:
                    yield ReceivedEvent(id=event_id, event=Event.from_dict(json.loads("\n".join(data))))
                event_id, data = None, []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                event_id = value
            elif field == "data":
                data.append(value)

