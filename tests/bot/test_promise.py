"""One promise: the widget header, the bot's handoff message and the waiting bar give the same
wait (open: the measured or configured figure; closed: the next opening)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from sodam.channels.hours import ALWAYS_OPEN, DAYS
from sodam.conversations.models import Message, SenderType
from sodam.db.session import session_scope
from tests.test_widget_api import queue_of, visitor_says


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as c:
        yield c


async def agent_online(ws, *, places: int) -> None:
    """The workspace's agent online with this many places."""
    from sodam.routing import service as routing
    from sodam.routing.models import Availability

    async with session_scope() as session:
        await routing.update_agent_routing(
            session,
            workspace_id=ws.workspace_id,
            agent_id=ws.agent_id,
            capacity={"default": places},
            skills={},
        )
        await routing.set_availability(
            session,
            workspace_id=ws.workspace_id,
            agent_id=ws.agent_id,
            availability=Availability.online,
            chosen=False,
            reason="test",
        )
        await session.commit()


async def _handoff(client, ws, lang: str) -> tuple[str, dict]:
    """Ask for a person in the widget; the server's worker runs the bot, which hands off."""
    text = "상담원 연결해 주세요" if lang == "ko" else "I want to talk to a human"
    token, sent = await visitor_says(client, ws.inbox_token, text)
    said = None
    # The live server's worker runs the job; under a loaded suite it can take a while.
    for _ in range(600):
        async with session_scope() as session:
            said = await session.scalar(
                select(Message.content).where(
                    Message.conversation_id == sent["conversation_id"],
                    Message.sender_type == SenderType.bot,
                    Message.kind == "bot",
                    Message.payload["handoff"].astext == "true",
                )
            )
        if said:
            break
        await asyncio.sleep(0.1)
    assert said, "the bot did not hand off"
    return said, await queue_of(client, ws.inbox_token, token)


async def test_open_header_handoff_and_bar_give_the_same_minutes(client, make_workspace):
    ws = await make_workspace(
        bot_enabled=True, lead_capture="off", business_hours=ALWAYS_OPEN, typical_reply_minutes=7
    )
    header = (await client.get(f"/widget/v1/{ws.inbox_token}/config", params={"locale": "ko"})).json()
    said, queue = await _handoff(client, ws, "ko")
    assert header["strings"]["reply_time"] == "보통 7분 안에 답변드립니다"
    assert "보통 7분 안에 답변드립니다" in said
    assert queue["position"] == 1 and queue["wait_seconds"] == 7 * 60


async def test_closed_header_handoff_and_bar_give_the_same_opening(client, make_workspace):
    today = DAYS[datetime.now(UTC).astimezone().weekday()]
    # Open only on another day of the week: closed now, whatever the hour the suite runs at.
    other = next(d for d in DAYS if d != today and d != DAYS[(DAYS.index(today) + 1) % 7])
    hours = {"timezone": "Asia/Seoul", "days": {other: ["09:00", "18:00"]}}
    ws = await make_workspace(
        bot_enabled=True, lead_capture="off", business_hours=hours, typical_reply_minutes=7
    )
    header = (await client.get(f"/widget/v1/{ws.inbox_token}/config", params={"locale": "en"})).json()
    said, queue = await _handoff(client, ws, "en")
    when = header["strings"]["reply_time"].split("will reply ", 1)[1]
    assert header["strings"]["reply_time"].startswith("We're closed now")
    assert when in said and "minutes" not in said
    assert queue["position"] == 1 and queue["wait_seconds"] is None and queue["opens_at"]


async def test_without_its_own_hours_and_someone_online_the_header_promises_the_staffed_wait(
    db, make_workspace, monkeypatch
):
    """The first hour: the demo inbox never set its hours; at 07:54 on a Saturday the header said
    "지금은 운영 시간이 아니어서 모레 09:00부터 답변드립니다" while the bot, with the admin online,
    handed off with "보통 1분 안에 답변드립니다". The header reads the place a customer handed
    over now would take, so it gives the handoff's figure."""
    import sodam.routing.tasks  # noqa: F401 - registers routing's wait estimate, as a serving process does
    from sodam.app import create_app
    from sodam.channels import hours as channel_hours
    from sodam.config import Settings

    today = DAYS[datetime.now(UTC).astimezone().weekday()]
    other = next(d for d in DAYS if d != today and d != DAYS[(DAYS.index(today) + 1) % 7])
    # The default hours closed now, whatever the hour the suite runs at (this process only).
    monkeypatch.setattr(
        channel_hours, "DEFAULT_HOURS", {"timezone": "Asia/Seoul", "days": {other: ["09:00", "18:00"]}}
    )
    ws = await make_workspace(bot_enabled=True, lead_capture="off")
    app = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(Settings())), base_url="http://sodam.test"
    )
    async with app:
        nobody = (await app.get(f"/widget/v1/{ws.inbox_token}/config", params={"locale": "ko"})).json()
        assert nobody["strings"]["reply_time"].startswith("지금은 운영 시간이 아니어서")
        await agent_online(ws, places=2)
        staffed = (await app.get(f"/widget/v1/{ws.inbox_token}/config", params={"locale": "ko"})).json()
    assert staffed["strings"]["reply_time"] == "보통 1분 안에 답변드립니다"


def test_an_english_opening_time_names_its_time_zone():
    """An English customer abroad (the first hour's browser was in UTC, 21:44) read "We're
    closed now and will reply today at 09:00" — a time already past for them."""
    from zoneinfo import ZoneInfo

    from sodam.channels.promise import WaitPromise, promise_line

    now = datetime(2026, 12, 6, 21, 44, tzinfo=UTC)
    opens = datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    closed = WaitPromise(False, None, opens)
    assert promise_line(closed, now, "en") == "We're closed now and will reply today at 09:00 KST"
    assert promise_line(closed, now, "ko") == "지금은 운영 시간이 아니어서 오늘 09:00부터 답변드립니다"


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("minutes", [1, 7])
def test_the_bot_s_open_wait_is_the_header_s_sentence(language, minutes):
    """The first hour, English, an agent online: the header said "We usually reply within 1 min"
    and the bot's handoff "We usually reply within 1 minutes." — the same figure in other words
    (and a plural for one)."""
    from sodam.channels.promise import WaitPromise, promise_line
    from sodam.core.i18n import gettext

    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    header = promise_line(WaitPromise(True, minutes, None), now, language)
    assert gettext(language, "bot.eta_open", minutes=minutes) == header + "."


async def test_an_agent_online_with_no_handle_times_yet_is_not_closed(db, make_workspace, monkeypatch):
    """The first hour at 07:25 in Seoul, the demo inbox (no hours of its own), the admin online
    with two of four places taken and two conversations waiting: the header said "지금은 운영
    시간이 아니어서 오늘 09:00부터 답변드립니다" and the bot asked every visitor who wanted a
    person for their name and e-mail "so a person can get back to you". Routing had no handle
    times to estimate the third place's wait, and no estimate read as nobody staffed."""
    import sodam.routing.tasks  # noqa: F401 - registers routing's wait estimate, as a serving process does
    from sodam.app import create_app
    from sodam.channels import hours as channel_hours
    from sodam.channels import promise
    from sodam.channels import service as inboxes
    from sodam.config import Settings
    from tests.test_console_helpers import seed_conversation

    today = DAYS[datetime.now(UTC).astimezone().weekday()]
    other = next(d for d in DAYS if d != today and d != DAYS[(DAYS.index(today) + 1) % 7])
    # The default hours closed now, whatever the hour the suite runs at (this process only).
    monkeypatch.setattr(
        channel_hours, "DEFAULT_HOURS", {"timezone": "Asia/Seoul", "days": {other: ["09:00", "18:00"]}}
    )
    ws = await make_workspace(bot_enabled=True, lead_capture="outside_hours")
    await seed_conversation(ws, assignee_id=ws.agent_id)  # the agent's one place is taken
    await agent_online(ws, places=1)
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        kept = await promise.wait_promise(session, inbox, datetime.now(UTC), position=1)
    assert kept.open_now and kept.opens_at is None
    app = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(Settings())), base_url="http://sodam.test"
    )
    async with app:
        header = (await app.get(f"/widget/v1/{ws.inbox_token}/config", params={"locale": "ko"})).json()
    assert header["strings"]["reply_time"] == "곧 답변드리겠습니다"
