"""Over HTTP against a running server with its job worker: a resolved widget conversation gets
the CSAT card; the customer answers (a second submit updates, never duplicates); a low score
escalates to the team's 매니저 within a minute; the public page and its expiry; sending to a
list of contacts; the survey API and its summary."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.conversations import service as conversations
from sodam.db.session import session_scope
from tests.test_api_helpers import assert_error, client
from tests.test_console_helpers import add_agent


async def visitor_conversation(server, ws, text_: str = "환불 문의드려요") -> tuple[str, int, int]:
    """(visitor token, conversation id, contact id) of a new widget visitor who wrote once."""
    async with httpx.AsyncClient(base_url=server.url) as widget:
        session = (await widget.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})).json()
        sent = await widget.post(
            f"/widget/v1/{ws.inbox_token}/messages",
            json={"content": text_, "client_id": str(uuid.uuid4())},
            headers={"X-Sodam-Visitor": session["visitor_token"]},
        )
        assert sent.status_code == 201, sent.text
        body = sent.json()
        async with session_scope() as s:
            conv = await conversations.get(
                s, workspace_id=ws.workspace_id, conversation_id=body["conversation_id"]
            )
            return session["visitor_token"], conv.id, conv.contact_id


async def wait_for(predicate, timeout_s: float = 60.0, every_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await predicate()
        if found:
            return found
        await asyncio.sleep(every_s)
    raise AssertionError("timed out")


async def survey_card(server, ws, visitor: str) -> dict | None:
    async with httpx.AsyncClient(base_url=server.url) as widget:
        r = await widget.get(f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": visitor})
        for m in r.json()["messages"]:
            if (m.get("payload") or {}).get("survey"):
                return m
    return None


async def test_resolved_conversation_gets_csat_and_a_low_score_escalates(live_server, make_workspace):
    ws = await make_workspace()
    sup_id, _sup_email, _ = await add_agent(ws, role=Role.supervisor)
    async with session_scope() as session:
        team = await accounts.create_team(
            session, workspace_id=ws.workspace_id, name="결제팀", agent_ids=[sup_id]
        )
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/surveys", json={"name": "상담 만족도", "kind": "csat", "on_resolve_inbox_ids": [ws.inbox_id]}
        )
        assert r.status_code == 201, r.text
        survey = r.json()
        assert [q["type"] for q in survey["questions"]] == ["csat", "text"]
        visitor, conv_id, contact_id = await visitor_conversation(live_server, ws)
        assert (await api.patch(f"/conversations/{conv_id}", json={"team_id": team.id})).status_code == 200
        assert (await api.patch(f"/conversations/{conv_id}", json={"status": "resolved"})).status_code == 200

        card = await wait_for(lambda: survey_card(live_server, ws, visitor), 30)
        assert card["sender_type"] == "system" and card["content"] == "상담은 만족스러우셨나요?"
        token = card["payload"]["survey"]["token"]
        assert len(token) >= 40
        # Resolving again (after a reopen) does not ask twice.
        await api.patch(f"/conversations/{conv_id}", json={"status": "open"})
        await api.patch(f"/conversations/{conv_id}", json={"status": "resolved"})

        async with httpx.AsyncClient(base_url=live_server.url) as widget:
            headers = {"X-Sodam-Visitor": visitor}
            got = await widget.get(f"/widget/v1/{ws.inbox_token}/surveys/{token}", headers=headers)
            assert got.status_code == 200, got.text
            assert got.json()["answer"] is None and got.json()["strings"]["submit"] == "보내기"
            # Another visitor's token does not open it.
            other = (await widget.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})).json()
            stranger = await widget.get(
                f"/widget/v1/{ws.inbox_token}/surveys/{token}",
                headers={"X-Sodam-Visitor": other["visitor_token"]},
            )
            assert_error(stranger, 404, "not_found")
            answered_at = time.monotonic()
            first = await widget.post(
                f"/widget/v1/{ws.inbox_token}/surveys/{token}",
                json={"answers": {"score": 1, "comment": "기다리기만 하고 해결이 안 됐어요"}},
                headers=headers,
            )
            assert first.status_code == 200, first.text
            assert first.json()["created"] is True
            bad = await widget.post(
                f"/widget/v1/{ws.inbox_token}/surveys/{token}",
                json={"answers": {"score": 6}},
                headers=headers,
            )
            assert_error(bad, 422, "invalid_answer")

        async def escalated():
            async with session_scope() as s:
                return (
                    await s.execute(
                        text(
                            "SELECT conversation_id, assignee_id, reason FROM survey_escalations WHERE survey_id = :s"
                        ),
                        {"s": survey["id"]},
                    )
                ).first()

        row = await wait_for(escalated, 60)
        assert time.monotonic() - answered_at < 60
        assert row.conversation_id == conv_id and row.assignee_id == sup_id and row.reason == "score"
        async with session_scope() as s:  # the 매니저 also finds it on their next page, until dismissed
            notices = (
                await s.execute(
                    text(
                        "SELECT agent_id, details FROM agent_notices WHERE workspace_id = :w AND kind = 'survey_escalation'"
                    ),
                    {"w": ws.workspace_id},
                )
            ).all()
            assert [(n.agent_id, n.details["conversation_id"], n.details["score"]) for n in notices] == [
                (sup_id, conv_id, 1)
            ]
        conv = (await api.get(f"/conversations/{conv_id}")).json()
        assert conv["status"] == "open" and conv["priority"] == "urgent"
        assert "survey-escalation" in conv["tags"] and conv["assignee_id"] == sup_id
        messages = (await api.get(f"/conversations/{conv_id}/messages", params={"limit": 100})).json()["data"]
        note = next(m for m in messages if m["kind"] == "note")
        assert "1/5" in note["content"] and "기다리기만 하고" in note["content"]
        assert f"/console/conversations/{conv_id}" in note["content"]  # the answered conversation

        # A second submit updates the one answer (and does not escalate twice).
        async with httpx.AsyncClient(base_url=live_server.url) as widget:
            again = await widget.post(
                f"/widget/v1/{ws.inbox_token}/surveys/{token}",
                json={"answers": {"score": 2}},
                headers={"X-Sodam-Visitor": visitor},
            )
            assert again.json()["created"] is False and again.json()["id"] == first.json()["id"]
        answers = (await api.get(f"/surveys/{survey['id']}/answers")).json()["data"]
        assert len(answers) == 1 and answers[0]["score"] == 2 and answers[0]["comment"] is None
        summary = (await api.get(f"/surveys/{survey['id']}/summary")).json()
        assert summary["sent"] == 1 and summary["answers"] == 1 and summary["csat"]["percent"] == 0.0
        await asyncio.sleep(1.5)
        async with session_scope() as s:
            count = await s.scalar(
                text("SELECT count(*) FROM survey_escalations WHERE survey_id = :s"), {"s": survey["id"]}
            )
            assert count == 1
            # The database refuses a second answer row for the recipient.
            dup = await s.scalar(
                text(
                    "SELECT count(*) FROM pg_constraint WHERE conname = 'uq_survey_answers_recipient' AND contype = 'u'"
                )
            )
            assert dup == 1


async def test_public_page_by_link_and_expiry(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        survey = (await api.post("/surveys", json={"name": "추천 의향", "kind": "nps"})).json()
        contact = (await api.post("/contacts", json={"name": "Jane", "language": "en"})).json()
        sent = await api.post(f"/surveys/{survey['id']}/send", json={"contact_ids": [contact["id"]]})
        assert sent.status_code == 201, sent.text
        url = sent.json()["data"][0]["url"]
        assert url.startswith("/s/")
        missing = await api.post(
            f"/surveys/{survey['id']}/send", json={"contact_ids": [contact["id"], 2**62]}
        )
        assert_error(missing, 404, "not_found")
    async with httpx.AsyncClient(base_url=live_server.url) as browser:
        page = await browser.get(url)
        assert page.status_code == 200
        assert "How likely are you to recommend us" in page.text  # the contact's language
        assert page.headers["referrer-policy"] == "no-referrer"
        ko = await browser.get(url, params={"lang": "ko"})
        assert "추천하실 가능성" in ko.text
        incomplete = await browser.post(url, data={"q_comment": "hm"})
        assert incomplete.status_code == 422 and "Please answer the required questions" in incomplete.text
        done = await browser.post(url, data={"q_score": "9", "q_comment": "Great"})
        assert done.status_code == 200 and "Thank you" in done.text
        done = await browser.post(url, data={"q_score": "10"})
        assert (await browser.get(url)).text.count('value="10" checked') == 1
        unknown = await browser.get("/s/" + "x" * 43)
        assert unknown.status_code == 404 and "Survey not found" not in unknown.text  # Korean by default
        # Expired: a clear page in the recipient's language, 410.
        async with session_scope() as s:
            await s.execute(
                text("UPDATE survey_recipients SET expires_at = :t WHERE token = :tok"),
                {"t": datetime.now(UTC) - timedelta(minutes=1), "tok": url.removeprefix("/s/")},
            )
            await s.commit()
        gone = await browser.get(url)
        assert gone.status_code == 410 and "This survey has closed" in gone.text
        late = await browser.post(url, data={"q_score": "3"})
        assert late.status_code == 410
    async with client(live_server, ws.api_token) as api:
        summary = (await api.get(f"/surveys/{survey['id']}/summary")).json()
        assert summary["answers"] == 1 and summary["nps"]["score"] == 100.0  # the 10, not a second row


async def test_widget_api_answers_410_when_expired(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        survey = (
            await api.post(
                "/surveys",
                json={
                    "name": "CSAT",
                    "kind": "csat",
                    "on_resolve_inbox_ids": [ws.inbox_id],
                    "expires_after_hours": 1,
                },
            )
        ).json()
        visitor, conv_id, _ = await visitor_conversation(live_server, ws)
        await api.patch(f"/conversations/{conv_id}", json={"status": "resolved"})
    card = await wait_for(lambda: survey_card(live_server, ws, visitor), 30)
    token = card["payload"]["survey"]["token"]
    async with session_scope() as s:
        await s.execute(
            text("UPDATE survey_recipients SET expires_at = now() - interval '1 second' WHERE token = :t"),
            {"t": token},
        )
        await s.commit()
    async with httpx.AsyncClient(base_url=live_server.url) as widget:
        h = {"X-Sodam-Visitor": visitor}
        body = assert_error(
            await widget.get(f"/widget/v1/{ws.inbox_token}/surveys/{token}", headers=h), 410, "survey_expired"
        )
        assert body["message"] == "설문 기간이 끝났습니다."
        r = await widget.post(
            f"/widget/v1/{ws.inbox_token}/surveys/{token}", json={"answers": {"score": 5}}, headers=h
        )
        assert_error(r, 410, "survey_expired")
    async with client(live_server, ws.api_token) as api:
        assert (await api.get(f"/surveys/{survey['id']}/summary")).json()["answers"] == 0


async def test_scheduled_send_opens_the_link_at_its_time(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        survey = (await api.post("/surveys", json={"name": "분기 NPS", "kind": "nps"})).json()
        contact = (await api.post("/contacts", json={"name": "김예약"})).json()
        later = datetime.now(UTC) + timedelta(hours=1)
        sent = (
            await api.post(
                f"/surveys/{survey['id']}/send",
                json={"contact_ids": [contact["id"]], "send_at": later.isoformat()},
            )
        ).json()
        recipient = sent["data"][0]
        assert recipient["sent_at"] is None
    async with httpx.AsyncClient(base_url=live_server.url) as browser:
        assert (await browser.get(recipient["url"])).status_code == 404  # not sent yet
    async with session_scope() as s:
        from sodam.surveys import service as surveys

        await s.execute(
            text("UPDATE survey_recipients SET send_at = now() - interval '1 second' WHERE id = :i"),
            {"i": recipient["id"]},
        )
        await surveys.send_due(s)  # (or a test server's periodic job did it first)
        await s.commit()
    async with httpx.AsyncClient(base_url=live_server.url) as browser:
        assert (await browser.get(recipient["url"])).status_code == 200


async def test_survey_crud_and_validation(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        assert_error(
            await api.post("/surveys", json={"name": "x", "kind": "custom"}), 422, "invalid_question"
        )
        assert_error(
            await api.post("/surveys", json={"name": "x", "kind": "csat", "on_resolve_inbox_ids": [2**62]}),
            404,
        )
        assert_error(
            await api.post("/surveys", json={"name": "x", "kind": "csat", "audience": "agents"}),
            422,
            "invalid_audience",
        )
        created = (await api.post("/surveys", json={"name": "x", "kind": "ces"})).json()
        changed = await api.patch(
            f"/surveys/{created['id']}", json={"name": "노력", "escalate_at": 7, "is_active": False}
        )
        assert changed.json()["name"] == "노력" and changed.json()["escalate_at"] == 7
        nulls = await api.patch(
            f"/surveys/{created['id']}", json={"escalate": None, "is_active": None, "escalate_at": None}
        )
        assert (
            nulls.status_code == 200
            and nulls.json()["escalate"] is True
            and nulls.json()["escalate_at"] is None
        )
        listed = (await api.get("/surveys")).json()["data"]
        assert [s["id"] for s in listed] == [created["id"]]
        assert (await api.delete(f"/surveys/{created['id']}")).status_code == 204
        assert_error(await api.get(f"/surveys/{created['id']}"), 404, "not_found")
