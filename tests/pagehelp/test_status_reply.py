"""진행 상황: the widget's status answer for every state of the visitor's conversation (the
button's read, GET …/status), and the typed question ("진행 상황 알려주세요") going through the
message path and answered by the routing.status_reply job — never by the bot as a question."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from sodam.nlp.status_question import is_status_question
from tests.pagehelp.fixture import widget
from tests.test_api_helpers import assert_error


def test_recognising_the_question():
    for yes in (
        "진행 상황 알려주세요",
        "진행상황",
        "제 문의 진행 상황 어떻게 되나요?",
        "아직인가요?",
        "처리 상태 궁금해요",
        "any update?",
        "Any updates on my request?",
        "What's the status?",
        "status please",
    ):
        assert is_status_question(yes), yes
    for no in (
        "주문 진행 상황은 어떻게 확인하나요?",
        "배송 진행 상황",
        "환불하고 싶어요",
        "update my address",
        "진행 상황 알려주세요 그리고 환불 규정도 궁금해요 배송비는 누가 내나요",
        "",
    ):
        assert not is_status_question(no), no


async def _session(w, name: str | None = None, locale: str = "ko") -> str:
    r = await w.post("/session", json={"locale": locale, **({"name": name} if name else {})})
    assert r.status_code == 200, r.text
    return r.json()["visitor_token"]


async def _status(w, token: str, locale: str = "ko") -> dict:
    r = await w.get("/status", params={"locale": locale}, headers={"X-Sodam-Visitor": token})
    assert r.status_code == 200, r.text
    return r.json()


async def _set(conversation_id: int, sql: str, **params) -> None:
    async with session_scope() as session:
        await session.execute(
            text(f"UPDATE conversations SET {sql} WHERE id = :id"), {"id": conversation_id, **params}
        )
        await session.commit()


async def _bot_messages(ws, conversation_id: int, *, wait_for: int = 1, seconds: float = 20) -> list:
    for _ in range(int(seconds * 10)):
        async with session_scope() as session:
            messages = await conversations.messages_after(
                session, workspace_id=ws.workspace_id, conversation_id=conversation_id
            )
        bots = [m for m in messages if m.sender_type == SenderType.bot]
        if len(bots) >= wait_for:
            return bots
        await asyncio.sleep(0.1)
    return bots


async def test_every_state(live_server, make_workspace):
    ws = await make_workspace()
    async with widget(live_server, ws) as w:
        assert_error(await w.get("/status"), 401)
        token = await _session(w, name="김민지 고객")
        none = await _status(w, token)
        assert none == {"conversation_id": None, "state": "none", "text": none["text"]}
        assert "진행 중인 문의가 없습니다" in none["text"]
        r = await w.post(
            "/messages",
            json={"client_id": "q-1", "content": "환불 문의드려요"},
            headers={"X-Sodam-Visitor": token},
        )
        cid = r.json()["conversation_id"]
        queued = await _status(w, token)
        assert queued["state"] == "queued" and queued["conversation_id"] == cid
        assert queued["text"].startswith("김민지님, 기다려 주셔서 감사합니다.")
        await _set(cid, "assignee_id = :a, first_response_due_at = now() + interval '2 hours'", a=ws.agent_id)
        async with session_scope() as session:
            await session.execute(
                text("UPDATE agents SET display_name = '이서연' WHERE id = :a"), {"a": ws.agent_id}
            )
            await session.commit()
        assigned = await _status(w, token)
        assert assigned["state"] == "assigned"
        assert "이서연 상담원이 확인하고 곧 답변드리겠습니다." in assigned["text"]
        assert "까지는 답변드리겠습니다" in assigned["text"]  # the SLA's due time
        english = await _status(w, token, "en")
        assert "이서연 will look at it" in english["text"] and "by" in english["text"]
        async with session_scope() as session:
            conv = await conversations.get(session, workspace_id=ws.workspace_id, conversation_id=cid)
            await conversations.create_message(
                session,
                conversation=conv,
                content="확인했습니다",
                sender_type=SenderType.agent,
                sender_id=ws.agent_id,
            )
            await session.commit()
        answered = await _status(w, token)
        assert answered["state"] == "answered" and "이서연 상담원이 답변을 남겼습니다" in answered["text"]
        await _set(cid, "status = 'pending'")
        pending = await _status(w, token)
        assert pending["state"] == "pending" and "답변을 기다리고 있습니다" in pending["text"]
        await _set(cid, "status = 'snoozed', snoozed_until = now() + interval '1 day'")
        snoozed = await _status(w, token)
        assert (
            snoozed["state"] == "snoozed" and "보류 중이며" in snoozed["text"] and "내일" in snoozed["text"]
        )
        await _set(cid, "status = 'resolved'")
        resolved = await _status(w, token)
        assert resolved["state"] == "resolved" and "해결 완료" in resolved["text"]
        # Typed after the resolution: the question opens a new conversation, and the answer is
        # about the one it asks after.
        r = await w.post(
            "/messages",
            json={"client_id": "q-2", "content": "진행 상황 알려주세요"},
            headers={"X-Sodam-Visitor": token},
        )
        assert r.status_code == 201, r.text
        assert r.json()["payload"] == {"status_request": True}
        new_cid = r.json()["conversation_id"]
        assert new_cid != cid
        bots = await _bot_messages(ws, new_cid)
        assert [b.payload["state"] for b in bots] == ["resolved"]


async def test_typed_question_in_a_queued_conversation(live_server, make_workspace):
    ws = await make_workspace()
    async with widget(live_server, ws) as w:
        token = await _session(w)
        h = {"X-Sodam-Visitor": token}
        r = await w.post("/messages", json={"client_id": "a-1", "content": "주문 취소하고 싶어요"}, headers=h)
        cid = r.json()["conversation_id"]
        r = await w.post("/messages", json={"client_id": "a-2", "content": "any update?"}, headers=h)
        assert r.json()["conversation_id"] == cid and r.json()["payload"] == {"status_request": True}
        bots = await _bot_messages(ws, cid)
        assert len(bots) == 1 and bots[0].payload["state"] == "queued"
        assert bots[0].payload["status_reply_to"] == r.json()["id"]
        # A retry of the same question (same client_id) is the same message: no second answer.
        again = await w.post("/messages", json={"client_id": "a-2", "content": "any update?"}, headers=h)
        assert again.status_code == 200
        await asyncio.sleep(1.0)
        assert len(await _bot_messages(ws, cid, wait_for=2, seconds=0.5)) == 1


async def test_the_bot_never_takes_the_status_question(live_server, make_workspace):
    ws = await make_workspace(bot_enabled=True)
    async with widget(live_server, ws) as w:
        token = await _session(w)
        r = await w.post(
            "/messages",
            json={"client_id": "b-1", "content": "진행 상황 알려주세요"},
            headers={"X-Sodam-Visitor": token},
        )
        cid = r.json()["conversation_id"]
        bots = await _bot_messages(ws, cid)
        assert bots and bots[0].payload.get("status_reply") is True
        assert bots[0].payload["state"] in ("none", "bot")
        # Nothing else answers it: no knowledge search, no "couldn't find", no handoff.
        await asyncio.sleep(1.5)
        bots = await _bot_messages(ws, cid, wait_for=2, seconds=0.5)
        assert len(bots) == 1, [b.content for b in bots]
        status = await _status(w, token)
        assert status["state"] == "bot" and "봇이 도와드리고" in status["text"]
