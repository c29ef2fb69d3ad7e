"""The generated client against a real server: sign up, read the verification email from the
outbox, verify, sign in, create a Paper bot and find it in the list, then read the live
event stream: a reset for an unknown Last-Event-ID, and a resume after the last event."""

import re
from http import HTTPStatus

from nexus_api_client import AuthenticatedClient, Client
from nexus_api_client.api.auth import log_in, me, sign_up, verify_email
from nexus_api_client.api.bots import create_bot, get_bot, list_bots, update_bot
from nexus_api_client.events import EventStreamError, open_events
from nexus_api_client.models import (
    Bot,
    BotChange,
    BotChanges,
    BotPage,
    Credentials,
    Done,
    ErrorBody,
    EventType,
    Exchange,
    Me,
    NewBot,
    SessionBody,
    SignUp,
    StrategyName,
    Verify,
)


def test_sign_up_through_the_outbox_sign_in_create_a_paper_bot_list_it(server):
    email = "py-client@example.com"
    password = "a long enough password"

    with Client(base_url=server.url, raise_on_unexpected_status=True) as anonymous:
        signed_up = sign_up.sync_detailed(client=anonymous, body=SignUp(email=email, password=password))
        assert signed_up.status_code == HTTPStatus.ACCEPTED, signed_up.content
        assert isinstance(signed_up.parsed, Done)

        # Not verified yet: signing in is refused with a documented error code.
        early = log_in.sync_detailed(client=anonymous, body=Credentials(email=email, password=password))
        assert early.status_code == HTTPStatus.FORBIDDEN
        assert isinstance(early.parsed, ErrorBody) and early.parsed.code == "email_not_verified"

        mail = server.wait_for_email(email, "verification")
        m = re.search(r"[?&]token=([A-Za-z0-9_-]+)", mail["text"])
        assert m, f"no token in the verification email:\n{mail['text']}"
        verified = verify_email.sync_detailed(client=anonymous, body=Verify(token=m.group(1), password=password))
        assert verified.status_code == HTTPStatus.OK, verified.content

        wrong = log_in.sync(client=anonymous, body=Credentials(email=email, password="not the password"))
        assert isinstance(wrong, ErrorBody) and wrong.code == "invalid_credentials"

        session = log_in.sync(client=anonymous, body=Credentials(email=email, password=password))
        assert isinstance(session, SessionBody), session

    # Without the token the bots are refused. (A fresh client: httpx keeps the session
    # cookie that signing in set, and a GET needs no CSRF header.)
    with Client(base_url=server.url) as stranger:
        denied = list_bots.sync_detailed(client=stranger)
        assert denied.status_code == HTTPStatus.UNAUTHORIZED
        assert isinstance(denied.parsed, ErrorBody) and denied.parsed.code == "unauthorized"

    with AuthenticatedClient(base_url=server.url, token=session.token, raise_on_unexpected_status=True) as nexus:
        caller = me.sync(client=nexus)
        assert isinstance(caller, Me)
        assert caller.email == email and caller.email_verified

        created = create_bot.sync_detailed(
            client=nexus,
            body=NewBot(
                name="Python client",
                exchange=Exchange.PAPER,
                symbol="BTC/USDT",
                strategy=StrategyName.TREND_BREAKOUT,
                paused=True,
            ),
        )
        assert created.status_code == HTTPStatus.CREATED, created.content
        bot = created.parsed
        assert isinstance(bot, Bot)
        assert bot.exchange == Exchange.PAPER and bot.symbol == "BTC/USDT" and bot.paused

        page = list_bots.sync(client=nexus, limit=10)
        assert isinstance(page, BotPage), page
        assert [(b.id, b.name) for b in page.items] == [(bot.id, "Python client")]

        one = get_bot.sync(client=nexus, id=bot.id)
        assert isinstance(one, Bot) and one.id == bot.id

        # The stream, asked to resume after an id it never gave: a reset, carrying the
        # newest event's id (the bot created above) to resume from.
        with open_events(nexus, last_event_id="never-given") as events:
            reset = next(events)
        assert reset.event.type_ == EventType.RESET and reset.id
        assert events.last_event_id == reset.id

        # Renamed while no stream is open: resuming after that id brings it.
        renamed = update_bot.sync_detailed(client=nexus, id=bot.id, body=BotChanges(name="Renamed"))
        assert renamed.status_code == HTTPStatus.OK, renamed.content
        with open_events(nexus, last_event_id=reset.id) as events:
            missed = next(events)
        assert missed.event.type_ == EventType.BOT
        assert missed.event.bot.change == BotChange.UPDATED
        assert missed.event.bot.bot.name == "Renamed"

    with Client(base_url=server.url) as stranger:
        try:
            open_events(stranger)
            raise AssertionError("an anonymous stream is refused")
        except EventStreamError as refused:
            assert refused.status == HTTPStatus.UNAUTHORIZED and refused.code == "unauthorized"
