"""The screen pop and the timeline of a contact with history on two inboxes: every field, the
sentiment of the last interaction from the stored message scores, the last survey answers,
keyset pages of the timeline, and the console's right pane."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.contacts import visits
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType, Status
from sodam.conversations.tasks import score_unscored_messages
from sodam.db.session import session_scope
from sodam.surveys import service as surveys
from tests.test_api_helpers import assert_error, client
from tests.test_console_helpers import console_client


async def sentiment_jobs_done(workspace_id: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with session_scope() as s:
            pending = await s.scalar(
                text(
                    "SELECT count(*) FROM messages WHERE workspace_id = :ws AND sender_type = 'contact'"
                    " AND kind = 'text' AND sentiment_score IS NULL"
                ),
                {"ws": workspace_id},
            )
        if not pending:
            return
        # Score them here if no server's worker got to them yet (rows a worker is scoring
        # are skipped; its update lands before ours, which waits for the row lock).
        await score_unscored_messages()
        await asyncio.sleep(0.2)
    raise AssertionError("the sentiment jobs did not finish")


async def history(ws) -> dict:
    """A contact with a resolved conversation on the widget inbox (CSAT 2, NPS 9 answered), an
    open one on a second inbox whose customer messages are scored negative, and a visit."""
    async with session_scope() as s:
        other = await inboxes.create(s, workspace_id=ws.workspace_id, name="이메일 문의", allowed_origins=[])
        contact = await contacts.create(
            s,
            workspace_id=ws.workspace_id,
            name="박서준",
            email="seojun@example.com",
            company="소담상사",
            language="ko",
            custom_attributes={"tier": "VIP", "account_value": 1250000},
        )
        old = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        await conversations.create_message(
            s,
            conversation=old,
            content="배송이 언제 오나요?",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
        await conversations.create_message(
            s,
            conversation=old,
            content="내일 도착합니다",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        await conversations.set_status(
            s,
            workspace_id=ws.workspace_id,
            conversation_id=old.id,
            status=Status.resolved,
            actor_id=ws.agent_id,
        )
        new = await conversations.create(
            s, workspace_id=ws.workspace_id, inbox_id=other.id, contact_id=contact.id
        )
        for content in ("환불이 안 돼요", "너무 화가 납니다", "언제 처리되나요"):
            await conversations.create_message(
                s, conversation=new, content=content, sender_type=SenderType.contact, sender_id=contact.id
            )
        await s.commit()
    # The sentiment job may be scoring these messages (a server's worker runs it): let it
    # finish, then store known scores in its place.
    await sentiment_jobs_done(ws.workspace_id)
    async with session_scope() as s:
        # The sentiment job's stored scores (conversations.score_sentiment).
        await s.execute(
            text(
                "UPDATE messages SET sentiment_score = v.score FROM (VALUES ('환불이 안 돼요', -0.6), ('너무 화가 납니다', -0.9),"
                " ('언제 처리되나요', -0.3), ('배송이 언제 오나요?', 0.1)) v(content, score)"
                " WHERE messages.content = v.content AND messages.workspace_id = :ws"
            ),
            {"ws": ws.workspace_id},
        )
        await visits.record(
            s,
            workspace_id=ws.workspace_id,
            inbox_id=ws.inbox_id,
            contact_id=contact.id,
            visit_id="v1",
            url="https://shop.example.com/orders/77",
            title="주문 상세",
            referrer=None,
            user_agent="Mozilla/5.0",
        )
        await s.commit()
    # The answers come later than the conversations. No escalation: CSAT 2 would reopen the
    # conversation when a test server's worker takes the job, adding a status to the timeline.
    async with session_scope() as s:
        csat = await surveys.create(s, workspace_id=ws.workspace_id, name="CSAT", kind="csat", escalate=False)
        nps = await surveys.create(s, workspace_id=ws.workspace_id, name="NPS", kind="nps", escalate=False)
        r1, _ = await surveys.invite(s, survey=csat, contact_id=contact.id, conversation_id=old.id)
        await surveys.submit(s, recipient=r1, survey=csat, answers={"score": 2, "comment": "느려요"})
        r2, _ = await surveys.invite(s, survey=nps, contact_id=contact.id)
        await surveys.submit(s, recipient=r2, survey=nps, answers={"score": 9})
        await s.commit()
    return {"contact": contact.id, "old": old.id, "new": new.id, "other_inbox": other.id}


async def test_screen_pop_fields_across_two_inboxes(live_server, make_workspace):
    ws = await make_workspace()
    h = await history(ws)
    async with client(live_server, ws.api_token) as api:
        r = await api.get(f"/contacts/{h['contact']}/summary")
        assert r.status_code == 200, r.text
        pop = r.json()
    assert (pop["name"], pop["company"], pop["tier"], pop["account_value"]) == (
        "박서준",
        "소담상사",
        "VIP",
        1250000,
    )
    assert pop["lifetime_conversations"] == 2 and pop["open_count"] == 1
    assert pop["tenure_days"] == 0 and pop["customer_since"]
    assert pop["last_surveys"]["csat"]["score"] == 2 and pop["last_surveys"]["csat"]["comment"] == "느려요"
    assert pop["last_surveys"]["nps"]["score"] == 9 and "ces" not in pop["last_surveys"]
    # The last interaction is the open conversation: mean −0.6, last five also −0.6.
    assert pop["sentiment"]["conversation_id"] == h["new"]
    assert pop["sentiment"]["score"] == -0.6 and pop["sentiment"]["label"] == "negative"
    assert pop["sentiment"]["messages"] == 3
    assert [c["id"] for c in pop["open_conversations"]] == [h["new"]]
    recent = pop["recent_conversations"]
    assert [c["id"] for c in recent] == [h["new"], h["old"]]
    assert {c["inbox_name"] for c in recent} == {"웹 채팅", "이메일 문의"}
    assert recent[1]["status"] == "resolved" and recent[1]["messages"] >= 2
    assert pop["current_page"]["url"] == "https://shop.example.com/orders/77"

    # Another workspace's token: 404, as for an unknown contact.
    other = await make_workspace()
    async with client(live_server, other.api_token) as api:
        assert_error(await api.get(f"/contacts/{h['contact']}/summary"), 404, "not_found")
        assert_error(await api.get(f"/contacts/{h['contact']}/timeline"), 404, "not_found")


async def test_a_new_contact_has_an_empty_screen_pop(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        contact = (await api.post("/contacts", json={"name": "새 고객"})).json()
        pop = (await api.get(f"/contacts/{contact['id']}/summary")).json()
        assert pop["lifetime_conversations"] == 0 and pop["sentiment"] is None and pop["last_surveys"] == {}
        assert pop["tier"] is None and pop["current_page"] is None and pop["recent_conversations"] == []
        assert (await api.get(f"/contacts/{contact['id']}/timeline")).json() == {
            "data": [],
            "next_cursor": None,
        }


async def test_timeline_newest_first_across_channels_in_keyset_pages(live_server, make_workspace):
    ws = await make_workspace()
    h = await history(ws)
    async with client(live_server, ws.api_token) as api:
        full = (await api.get(f"/contacts/{h['contact']}/timeline", params={"limit": 100})).json()
        kinds = [e["kind"] for e in full["data"]]
        assert sorted(kinds) == sorted(
            ["conversation", "conversation", "status", "survey_answer", "survey_answer"]
        )
        ats = [e["at"] for e in full["data"]]
        assert ats == sorted(ats, reverse=True)
        assert full["data"][0]["kind"] == "survey_answer" and full["data"][0]["data"]["survey_kind"] == "nps"
        status = next(e for e in full["data"] if e["kind"] == "status")
        assert status["data"] == {
            "conversation_id": h["old"],
            "from": "open",
            "to": "resolved",
            "actor_type": "agent",
        }
        convs = [e["data"] for e in full["data"] if e["kind"] == "conversation"]
        assert {c["channel_type"] for c in convs} == {"web_widget"} and {c["inbox_name"] for c in convs} == {
            "웹 채팅",
            "이메일 문의",
        }
        # Pages of two: the same entries, in the same order, nothing twice.
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await api.get(f"/contacts/{h['contact']}/timeline", params=params)).json()
            seen += [(e["kind"], e["id"]) for e in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [(e["kind"], e["id"]) for e in full["data"]]
        only = (await api.get(f"/contacts/{h['contact']}/timeline", params={"kind": "survey_answer"})).json()[
            "data"
        ]
        assert [e["kind"] for e in only] == ["survey_answer", "survey_answer"]


async def test_console_right_pane_shows_the_screen_pop(live_server, make_workspace):
    ws = await make_workspace()
    h = await history(ws)
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await agent.get(f"/console/conversations/{h['new']}")
        assert f'hx-get="/console/contacts/{h["contact"]}/screen-pop?conversation={h["new"]}"' in page.text
        pop = await agent.get(
            f"/console/contacts/{h['contact']}/screen-pop", params={"conversation": h["new"]}
        )
        assert pop.status_code == 200
        for shown in ("소담상사", "VIP", "1,250,000", "부정", "주문 상세", "웹 채팅", f"#{h['old']}"):
            assert shown in pop.text, shown
        tl = await agent.get(f"/console/contacts/{h['contact']}/timeline")
        assert tl.text.count('class="tl ') == 5 and "느려요" in tl.text
        contact_page = await agent.get(f"/console/contacts/{h['contact']}")
        assert 'id="contact-timeline"' in contact_page.text
        other = await make_workspace()
        stranger = await console_client(live_server, other.agent_email, other.agent_password)
        try:
            assert (await stranger.get(f"/console/contacts/{h['contact']}/screen-pop")).status_code == 404
            assert (await stranger.get(f"/console/contacts/{h['contact']}/timeline")).status_code == 404
        finally:
            await stranger.aclose()
    finally:
        await agent.aclose()
