"""Campaigns end to end on a live server: a throttled widget campaign to a segment and its
counts (sent, opened, clicked, replied), the API channel's deliveries, a reply opening the
conversation to the team, scheduling and pause/cancel, bad input and workspace isolation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from sodam.campaigns.models import CampaignRecipient
from sodam.channels import service as inboxes
from sodam.channels.widget import issue_visitor_token
from sodam.conversations.models import Conversation, Message, SenderType, Status
from sodam.db.session import session_scope
from tests.campaigns.helpers import segment, wait_for, widget_contacts
from tests.test_api_helpers import assert_error
from tests.webhooks.helpers import api as make_api
from tests.webhooks.helpers import api_inbox, open_conversation, subscribe
from tests.webhooks.receiver import Receiver


async def _campaign(api, **body) -> dict:
    r = await api.post("/api/v1/campaigns", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_throttled_widget_campaign_its_counts_and_a_reply(live_server, make_workspace):
    ws = await make_workspace()
    people = await widget_contacts(ws, 25, english=5)
    async with make_api(live_server, ws.api_token) as api:
        seg = await segment(api)
        c = await _campaign(
            api,
            name="봄 할인",
            segment_id=seg,
            inbox_id=ws.inbox_id,
            channel="widget_message",
            body_ko="{name}님, 봄 할인이 시작됐어요: https://shop.example/spring",
            body_en="Hi {name}, our spring sale is on: https://shop.example/spring",
            rate_per_s=10,
        )
        assert c["status"] == "draft" and c["links"] == ["https://shop.example/spring"]
        r = await api.post(f"/api/v1/campaigns/{c['id']}/start")
        assert r.status_code == 200 and r.json()["status"] == "running"
        stats = await wait_for(api, c["id"])
        assert (
            stats["sent"] == 25
            and stats["total"] == 25
            and stats["delivered"] == 25
            and stats["progress"] == 1
        )
    async with session_scope() as session:
        rows = list(
            await session.scalars(select(CampaignRecipient).where(CampaignRecipient.campaign_id == c["id"]))
        )
        # 10 a second: three batches, the last at least two seconds after the first.
        spread = max(r.sent_at for r in rows) - min(r.sent_at for r in rows)
        assert spread >= timedelta(seconds=1.8), spread
        per_batch = {}
        for row in rows:
            per_batch[row.sent_at] = per_batch.get(row.sent_at, 0) + 1
        assert max(per_batch.values()) <= 10
        messages = list(
            await session.scalars(
                select(Message).where(Message.conversation_id.in_([r.conversation_id for r in rows]))
            )
        )
        assert len(messages) == 25 and {m.sender_type for m in messages} == {SenderType.agent}
        english = [m for m in messages if m.content.startswith("Hi Alex")]
        assert len(english) == 5
        assert all("/c/l/" in m.content and "shop.example" not in m.content for m in messages)
        convs = list(
            await session.scalars(
                select(Conversation).where(Conversation.id.in_([r.conversation_id for r in rows]))
            )
        )
        assert {v.status for v in convs} == {Status.pending}  # nobody's queue fills with a campaign
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        first = next(r for r in rows if r.contact_id == people[0])
        token = issue_visitor_token(inbox, people[0])
        link = next(m for m in messages if m.id == first.message_id).content.split(" ")[-1]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as web:
        # The widget showed it: opened. Another visitor's token cannot mark it.
        w = f"/widget/v1/{ws.inbox_token}"
        r = await web.post(
            f"{w}/campaigns/seen",
            json={"message_ids": [first.message_id]},
            headers={"X-Sodam-Visitor": token},
        )
        assert r.status_code == 204
        # A click: counted, then to the campaign's own link with no referrer.
        r = await web.get(link.replace(live_server.url, ""))
        assert r.status_code == 303 and r.headers["location"] == "https://shop.example/spring"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert (await web.get("/c/l/forged-token")).status_code == 404
        # The customer answers in the widget: the campaign's conversation opens to the team.
        r = await web.post(
            f"{w}/messages",
            json={"content": "쿠폰은 어디서 받나요?", "client_id": "reply-1"},
            headers={"X-Sodam-Visitor": token},
        )
        assert r.status_code == 201, r.text
        assert r.json()["conversation_id"] == first.conversation_id
    async with make_api(live_server, ws.api_token) as api:
        stats = (await api.get(f"/api/v1/campaigns/{c['id']}/stats")).json()
        assert (stats["opened"], stats["clicked"], stats["replied"]) == (1, 1, 1)
    async with session_scope() as session:
        conv = await session.get(Conversation, first.conversation_id)
        assert conv.status == Status.open and conv.queued_at is not None


async def test_api_channel_deliveries_schedule_pause_cancel(live_server, make_workspace):
    ws = await make_workspace()
    receiver = await Receiver().start()
    try:
        async with make_api(live_server, ws.api_token) as api:
            inbox = await api_inbox(api)
            await subscribe(api, receiver.url, inbox_id=inbox)
            for i in range(6):
                await open_conversation(api, inbox, source_id=f"user-{i}")
            # Contacts of the API inbox only (the segment holds no widget contact here anyway).
            seg = await segment(api, {"all": [{"field": "channel", "op": "in", "value": ["api"]}]})
            before = len(receiver.requests)
            c = await _campaign(
                api,
                name="API",
                segment_id=seg,
                inbox_id=inbox,
                channel="api",
                body_ko="점검 안내",
                rate_per_s=100,
            )
            await api.post(f"/api/v1/campaigns/{c['id']}/start")
            stats = await wait_for(api, c["id"])
            assert stats["sent"] == 6
            for _ in range(100):
                stats = (await api.get(f"/api/v1/campaigns/{c['id']}/stats")).json()
                if stats["delivered"] == 6:
                    break
                await asyncio.sleep(0.2)
            assert stats["delivered"] == 6
            got = [r.json for r in receiver.requests[before:] if r.json["data"].get("campaign")]
            assert sorted(g["data"]["contact"]["source_id"] for g in got) == [f"user-{i}" for i in range(6)]
            # Scheduled in the campaign's zone (no offset): stored in UTC; pause and cancel.
            d = await _campaign(api, name="예약", segment_id=seg, inbox_id=inbox, channel="api", body_ko="x")
            local = (datetime.now(UTC) + timedelta(days=1)).astimezone().replace(tzinfo=None)
            r = await api.post(
                f"/api/v1/campaigns/{d['id']}/schedule", json={"scheduled_at": "2099-01-01T09:00:00"}
            )
            assert r.status_code == 200 and r.json()["status"] == "scheduled"
            assert r.json()["scheduled_at"].startswith("2099-01-01T00:00:00")  # 09:00 KST
            assert local  # (a local time is read in Asia/Seoul, not the server's zone)
            assert (await api.post(f"/api/v1/campaigns/{d['id']}/pause")).json()["status"] == "paused"
            assert (await api.post(f"/api/v1/campaigns/{d['id']}/cancel")).json()["status"] == "cancelled"
            assert_error(await api.post(f"/api/v1/campaigns/{d['id']}/start"), 409, "campaign_locked")
            assert_error(await api.post(f"/api/v1/campaigns/{c['id']}/pause"), 409, "campaign_not_running")
            assert_error(
                await api.patch(f"/api/v1/campaigns/{c['id']}", json={"name": "x"}), 409, "campaign_locked"
            )
    finally:
        await receiver.stop()


async def test_bad_input_is_a_4xx_with_the_field(live_server, make_workspace):
    ws = await make_workspace()
    async with make_api(live_server, ws.api_token) as api:
        seg = await segment(api)
        base = {
            "name": "x",
            "segment_id": seg,
            "inbox_id": ws.inbox_id,
            "channel": "widget_message",
            "body_ko": "안녕하세요",
        }
        for change, code in [
            ({"channel": "fax"}, "validation_error"),
            ({"rate_per_s": 0}, "validation_error"),
            ({"body_ko": ""}, "invalid_campaign"),
            ({"channel": "email"}, "invalid_campaign"),  # a widget inbox cannot send e-mail
            ({"timezone": "Mars/Olympus"}, "invalid_campaign"),
            ({"unknown": 1}, "validation_error"),
        ]:
            assert_error(await api.post("/api/v1/campaigns", json={**base, **change}), 422, code)
        assert_error(await api.post("/api/v1/campaigns", json={**base, "segment_id": 999999999}), 404)
        c = await _campaign(api, **base)
        assert_error(
            await api.post(
                f"/api/v1/campaigns/{c['id']}/schedule", json={"scheduled_at": "2001-01-01T00:00:00"}
            ),
            422,
            "invalid_campaign",
        )
        assert_error(
            await api.post(f"/api/v1/campaigns/{c['id']}/schedule", json={"scheduled_at": "soon"}), 422
        )
        assert_error(await api.post("/api/v1/announcements", json={"text_ko": ""}), 422)
        assert_error(
            await api.post("/api/v1/announcements", json={"text_ko": "x", "severity": "apocalyptic"}), 422
        )
        assert_error(
            await api.post(
                "/api/v1/announcements",
                json={"text_ko": "x", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
            ),
            422,
            "invalid_announcement",
        )
        assert_error(await api.get("/api/v1/campaigns/abc"), 422)


async def test_other_workspaces_get_404_everywhere(live_server, make_workspace):
    ws, other = await make_workspace(), await make_workspace()
    async with make_api(live_server, ws.api_token) as api, make_api(live_server, other.api_token) as intruder:
        seg = await segment(api)
        c = await _campaign(
            api, name="x", segment_id=seg, inbox_id=ws.inbox_id, channel="widget_message", body_ko="hi"
        )
        a = (await api.post("/api/v1/announcements", json={"text_ko": "장애"})).json()
        cid, aid = c["id"], a["id"]
        for method, path, body in [
            ("get", f"/api/v1/campaigns/{cid}", None),
            ("patch", f"/api/v1/campaigns/{cid}", {"name": "y"}),
            ("delete", f"/api/v1/campaigns/{cid}", None),
            ("post", f"/api/v1/campaigns/{cid}/schedule", {"scheduled_at": "2099-01-01T00:00:00"}),
            ("post", f"/api/v1/campaigns/{cid}/start", None),
            ("post", f"/api/v1/campaigns/{cid}/pause", None),
            ("post", f"/api/v1/campaigns/{cid}/cancel", None),
            ("get", f"/api/v1/campaigns/{cid}/stats", None),
            ("get", f"/api/v1/announcements/{aid}", None),
            ("patch", f"/api/v1/announcements/{aid}", {"text_ko": "y"}),
            ("post", f"/api/v1/announcements/{aid}/clear", None),
            ("delete", f"/api/v1/announcements/{aid}", None),
        ]:
            r = await intruder.request(method.upper(), path, json=body)
            assert_error(r, 404)
        # Someone else's segment or inbox cannot be used either.
        assert_error(
            await intruder.post(
                "/api/v1/campaigns",
                json={
                    "name": "x",
                    "segment_id": seg,
                    "inbox_id": other.inbox_id,
                    "channel": "widget_message",
                    "body_ko": "x",
                },
            ),
            404,
        )
        assert (await intruder.get("/api/v1/campaigns")).json()["data"] == []
        assert (await intruder.get("/api/v1/announcements")).json() == []
        assert (await api.get(f"/api/v1/campaigns/{cid}")).json()["name"] == "x"
    async with session_scope() as session:
        n = await session.scalar(select(func.count()).select_from(CampaignRecipient))
        assert n is not None


async def test_a_campaign_carries_each_contacts_own_survey_link(live_server, make_workspace):
    """{survey_link} becomes a personal survey link per contact (asked once, in their language);
    the link opens the survey and an answer counts for that contact."""
    import re

    ws = await make_workspace()
    people = await widget_contacts(ws, 6, english=2)
    async with make_api(live_server, ws.api_token) as api:
        seg = await segment(api)
        survey = (await api.post("/api/v1/surveys", json={"name": "분기 NPS", "kind": "nps"})).json()
        body = {
            "name": "설문 캠페인",
            "segment_id": seg,
            "inbox_id": ws.inbox_id,
            "channel": "widget_message",
            "body_ko": "{name}님, 잠시 의견을 들려주세요: {survey_link}",
            "body_en": "Hi {name}, a minute for us? {survey_link}",
        }
        error = assert_error(await api.post("/api/v1/campaigns", json=body), 422, "invalid_campaign")
        assert error["details"]["field"] == "survey_id"
        assert_error(await api.post("/api/v1/campaigns", json=body | {"survey_id": 2**40}), 404)
        error = assert_error(
            await api.post(
                "/api/v1/campaigns",
                json=body | {"survey_id": survey["id"], "body_ko": "링크 없음", "body_en": ""},
            ),
            422,
        )
        assert error["details"]["field"] == "body_ko"
        c = await _campaign(api, **body, survey_id=survey["id"])
        assert c["survey_id"] == survey["id"]
        assert (await api.post(f"/api/v1/campaigns/{c['id']}/start")).status_code == 200
        await wait_for(api, c["id"])
        invited = await walk_all(api, f"/api/v1/surveys/{survey['id']}/recipients")
    assert sorted(r["contact_id"] for r in invited) == sorted(people)
    assert {r["channel"] for r in invited} == {"campaign"} and sum(
        r["language"] == "en" for r in invited
    ) == 2
    async with session_scope() as session:
        rows = list(
            await session.scalars(select(CampaignRecipient).where(CampaignRecipient.campaign_id == c["id"]))
        )
        messages = {
            m.id: m.content
            for m in await session.scalars(
                select(Message).where(Message.id.in_([r.message_id for r in rows]))
            )
        }
    links = {}
    for row in rows:
        found = re.findall(r"https?://\S+/s/([0-9a-f]{64})", messages[row.message_id])
        assert len(found) == 1, messages[row.message_id]
        links[row.contact_id] = found[0]
    assert len(set(links.values())) == 6 and "{survey_link}" not in "".join(messages.values())
    english = [row for row in rows if row.contact_id in people[-2:]]
    assert all(messages[row.message_id].startswith("Hi Alex") for row in english)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as web:
        page = await web.get(f"/s/{links[people[0]]}")
        assert page.status_code == 200


async def walk_all(api, path: str) -> list[dict]:
    rows, cursor = [], None
    while True:
        page = (await api.get(path, params={"limit": 100, **({"cursor": cursor} if cursor else {})})).json()
        rows += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return rows
