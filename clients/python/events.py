"""The live event stream (``GET /api/v1/events``) as an iterator of typed events.

Hand-written: openapi-python-client cannot stream, so ``scripts/generate-clients`` leaves
the operation out of the generated code and copies this module into the package as
``nexus_api_client.events``. The events are the generated ``Event`` model::

    from nexus_api_client import AuthenticatedClient
    from nexus_api_client.events import open_events
    from nexus_api_client.models import EventType

    last = None
    with AuthenticatedClient(base_url="http://127.0.0.1:8080", token=token) as nexus:
        while True:
            with open_events(nexus, last_event_id=last) as events:
                for received in events:
                    if received.event.type_ == EventType.RESET:
                        ...  # missed events: read the state again
                last = events.last_event_id  # the stream ended: resume after it
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional, Union

from .client import AuthenticatedClient, Client
from .models.event import Event

__all__ = ["EventStream", "EventStreamError", "ReceivedEvent", "open_events"]


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


class EventStream:
    """An open stream: iterate it for its events until the server ends it; ``close()`` (or
    leaving its ``with`` block) ends it."""

    def __init__(self, context, response, last_event_id: Optional[str]):
        self._context = context
        self._response = response
        self._lines = response.iter_lines()
        self.last_event_id = last_event_id

    def __iter__(self) -> Iterator[ReceivedEvent]:
        return self

    def __next__(self) -> ReceivedEvent:
        event_id, data = None, []
        for line in self._lines:
            if line == "":
                if event_id is not None:
                    self.last_event_id = event_id
                if data:
                    return ReceivedEvent(id=event_id, event=Event.from_dict(json.loads("\n".join(data))))
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
        raise StopIteration

    def close(self) -> None:
        self._context.__exit__(None, None, None)

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def open_events(client: Union[AuthenticatedClient, Client], last_event_id: Optional[str] = None) -> EventStream:
    """Opens the session's event stream, after ``last_event_id`` when given (what was
    missed comes first, or a ``reset`` event); raises ``EventStreamError`` when the API
    refuses."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    context = client.get_httpx_client().stream("GET", "/api/v1/events", headers=headers, timeout=None)
    response = context.__enter__()
    if response.status_code != 200:
        try:
            response.read()
            body = response.json()
        except ValueError:
            body = {}
        finally:
            context.__exit__(None, None, None)
        raise EventStreamError(
            response.status_code, body.get("code", "unknown"), body.get("message", response.reason_phrase)
        )
    return EventStream(context, response, last_event_id)
