"""Priority and snooze over HTTP: set in the console (a menu or the `p` step) and the API, shown
in the list and the header; a snoozed conversation opens again when the customer writes, and at
its time through the background job."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sodam.conversations import triage
from sodam.conversations.views_triage import snooze_time
from sodam.core.templating import SHOWN_ZONE
from tests.test_console_helpers import console_client, post


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as c:
        yield c


async def customer(client, ws) -> tuple[str, dict]:
    r = await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})
    token = r.json()["visitor_token"]
    return token, await say(client, ws, token, "주문 취소하고 싶어요")


async def say(client, ws, token, text) -> dict:
    r = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"content": text, "client_id": str(uuid.uuid4())},
        headers={"X-Sodam-Visitor": token},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_priority_steps_round_and_presets_mean_local_times():
    order = ["none", "low", "medium", "high", "urgent", "none"]
    from sodam.conversations.models import Priority

    for a, b in zip(order, order[1:], strict=False):
        assert triage.next_priority(Priority(a)).value == b
    # Wednesday 2026-12-02 22:30 in Seoul.
    now = datetime(2026, 12, 2, 22, 30, tzinfo=SHOWN_ZONE)
    assert snooze_time("tomorrow", "", now) == datetime(2026, 12, 3, 9, 0, tzinfo=SHOWN_ZONE)
    assert snooze_time("next_week", "", now) == datetime(2026, 12, 7, 9, 0, tzinfo=SHOWN_ZONE)
    assert snooze_time("1h", "", now) == now + timedelta(hours=1)
    assert snooze_time("custom", "2026-12-24T18:00", now) == datetime(2026, 12, 24, 18, 0, tzinfo=SHOWN_ZONE)


async def test_priority_in_the_console_and_the_list(client, live_server, make_workspace):
    ws = await make_workspace()
    _token, first = await customer(client, ws)
    cid = first["conversation_id"]
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        for expected in ("low", "medium"):
            r = await post(agent, f"/console/conversations/{cid}/priority", {"priority": "next"})
            assert r.status_code == 200 and f'data-priority="{expected}"' in r.text
        r = await post(agent, f"/console/conversations/{cid}/priority", {"priority": "urgent"})
        assert 'data-priority="urgent"' in r.text
        bad = await post(
            agent,
            f"/console/conversations/{cid}/priority",
            {"priority": "highest"},
            headers={"Accept": "application/json"},
        )
        assert bad.status_code == 422 and bad.json()["error"]["message"] == "알 수 없는 우선순위입니다."
        listing = await agent.get("/console/conversations?view=all&status=open")
        assert 'class="badge priority-badge priority-urgent"' in listing.text and "긴급" in listing.text
        timeline = (
            await agent.get(f"/console/conversations/{cid}/timeline", headers={"Accept": "application/json"})
        ).json()
        assert any("'긴급'으로" in e["text"] for e in timeline["events"])
    finally:
        await agent.aclose()
    api = {"Authorization": f"Bearer {ws.api_token}"}
    r = await client.patch(f"/api/v1/conversations/{cid}", headers=api, json={"priority": "low"})
    assert r.status_code == 200 and r.json()["priority"] == "low"


async def test_snooze_reopens_when_the_customer_writes_and_at_its_time(client, live_server, make_workspace):
    ws = await make_workspace()
    token, first = await customer(client, ws)
    cid = first["conversation_id"]
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    api = {"Authorization": f"Bearer {ws.api_token}"}
    try:
        r = await post(agent, f"/console/conversations/{cid}/snooze", {"preset": "tomorrow"})
        assert r.status_code == 200, r.text
        assert "status-badge" in r.text, r.text[:3000]
        assert 'id="snoozed-until"' in r.text and "09:00까지" in r.text, r.text[
            r.text.index("status-badge") - 200 :
        ][:1500]
        listing = await agent.get("/console/conversations?view=all&status=snoozed")
        assert f'data-conversation-id="{cid}"' in listing.text and "09:00까지" in listing.text
        past = await post(
            agent,
            f"/console/conversations/{cid}/snooze",
            {"preset": "custom", "until": "2020-01-01T09:00"},
            headers={"Accept": "application/json"},
        )
        assert past.status_code == 422 and past.json()["error"]["code"] == "snooze_in_past"
        assert past.json()["error"]["message"] == "다시 알림 시각은 지금보다 뒤여야 합니다."
    finally:
        await agent.aclose()
    # The customer writes: open again at once.
    await say(client, ws, token, "혹시 확인되셨나요?")
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=api)).json()["status"] == "open"

    # Snoozed for two seconds through the API: the job opens it then.
    until = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    r = await client.patch(
        f"/api/v1/conversations/{cid}", headers=api, json={"status": "snoozed", "snoozed_until": until}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "snoozed" and r.json()["snoozed_until"] is not None
    for _ in range(60):
        await asyncio.sleep(0.5)
        state = (await client.get(f"/api/v1/conversations/{cid}", headers=api)).json()
        if state["status"] == "open":
            break
    assert state["status"] == "open" and state["snoozed_until"] is None
    events = (await client.get(f"/api/v1/conversations/{cid}/events", headers=api)).json()["data"]
    assert events[-1]["type"] == "status.changed" and events[-1]["data"]["reason"] == "snooze_ended"
    bad = await client.patch(
        f"/api/v1/conversations/{cid}", headers=api, json={"status": "resolved", "snoozed_until": until}
    )
    assert bad.status_code == 422
