"""Agent assist: the right article and past reply first on a Korean and an English fixture,
the empathy prompt only on negative sentiment, the promised-time reminder, usage counting,
workspace isolation and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from sodam.accounts.models import Role
from sodam.assist import empathy, engine, service
from sodam.assist import index as assist_index
from sodam.assist.models import AssistReply
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Message, SenderType, Status
from sodam.db.session import session_scope
from sodam.knowledge import embedding
from sodam.knowledge import index as kb_index
from sodam.knowledge import service as knowledge
from sodam.nlp import encoders
from tests.test_api_helpers import assert_error, client

KO_ARTICLES = [
    (
        "배송은 얼마나 걸리나요?",
        "결제 후 보통 2~3일 안에 도착합니다. 주문 내역에서 송장 번호로 배송 조회를 하실 수 있습니다.",
    ),
    (
        "환불은 어떻게 신청하나요?",
        "주문 내역에서 환불 신청 버튼을 누르시면 됩니다. 카드 환불은 3~5영업일이 걸립니다.",
    ),
    (
        "비밀번호를 잊어버렸어요",
        "로그인 화면의 비밀번호 찾기를 누르시고 이메일로 받은 링크에서 새 비밀번호를 정하세요.",
    ),
]
EN_ARTICLES = [
    (
        "How long does shipping take?",
        "Orders usually arrive within 2-3 days. Track them with the tracking number.",
    ),
    (
        "How do I get a refund?",
        "Open your orders and press Request refund. Card refunds take 3-5 business days.",
    ),
    (
        "How do I reset my password?",
        "Press Forgot password on the sign-in page and follow the link we e-mail you.",
    ),
]
KO_HISTORY = [
    (
        "주문한 상품 배송이 언제 오나요?",
        "보통 결제 후 2~3일 안에 도착합니다. 송장 번호로 배송 조회가 가능합니다.",
    ),
    ("비밀번호를 바꾸고 싶어요", "설정 > 계정에서 비밀번호 변경을 누르시면 바꾸실 수 있습니다."),
    ("회원 탈퇴는 어디서 하나요?", "설정 > 계정 맨 아래의 회원 탈퇴 메뉴에서 하실 수 있습니다."),
]
EN_HISTORY = [
    (
        "I want my money back for this order",
        "I've started your refund; it reaches your card in 3-5 business days.",
    ),
    ("How can I change my password?", "Go to Settings > Account and choose Change password."),
    ("Can I change my delivery address?", "Yes, until the order ships: open the order and edit the address."),
]


async def _conversation(
    ws, lines: list[tuple[str, str]], *, language: str | None = None, resolve: bool = False
):
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="고객", email=None)
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        if language:
            conv.language = language
        for who, text in lines:
            sender = SenderType.contact if who == "c" else SenderType.agent
            await conversations.create_message(
                session,
                conversation=conv,
                content=text,
                sender_type=sender,
                sender_id=contact.id if who == "c" else ws.agent_id,
            )
        if resolve:
            await conversations.set_status(
                session,
                workspace_id=ws.workspace_id,
                conversation_id=conv.id,
                status=Status.resolved,
                actor_id=ws.agent_id,
            )
        await session.commit()
        conv_id = conv.id
    if resolve:
        async with session_scope() as session:
            await assist_index.index_conversation(session, conversation_id=conv_id)
            await session.commit()
    return conv_id


async def _seed(ws) -> None:
    async with session_scope() as session:
        for locale, articles in (("ko", KO_ARTICLES), ("en", EN_ARTICLES)):
            for title, body in articles:
                await knowledge.create_article(
                    session,
                    workspace_id=ws.workspace_id,
                    title=title,
                    body=body,
                    locale=locale,
                    status="published",
                )
        await session.commit()
    for history, language in ((KO_HISTORY, "ko"), (EN_HISTORY, "en")):
        for question, answer in history:
            await _conversation(ws, [("c", question), ("a", answer)], language=language, resolve=True)
    kb_index.registry.forget(ws.workspace_id)
    assist_index.registry.forget(ws.workspace_id)


async def _suggest(ws, conv_id: int, draft: str = "", now=None) -> dict:
    async with session_scope() as session:
        return await service.suggest(
            session,
            workspace_id=ws.workspace_id,
            conversation_id=conv_id,
            agent_id=ws.agent_id,
            role="admin",
            draft=draft,
            now=now,
        )


def test_pairs_of_skips_notes_and_joins_an_answer():
    L = assist_index.Line
    lines = [
        L(1, "contact", "text", "incoming", "안녕하세요"),
        L(2, "contact", "text", "incoming", "환불 문의드려요"),
        L(3, "agent", "note", "internal", "메모: 확인 필요"),
        L(4, "agent", "text", "outgoing", "환불 접수해 드렸습니다.", 7),
        L(5, "agent", "text", "outgoing", "3~5일 걸립니다.", 7),
        L(6, "contact", "text", "incoming", "감사합니다"),
        L(7, "agent", "text", "outgoing", "네", 7),  # too short to teach anything
    ]
    pairs = assist_index.pairs_of(lines)
    assert [(p.reply_message_id, p.question, p.reply) for p in pairs] == [
        (4, "안녕하세요 환불 문의드려요", "환불 접수해 드렸습니다.\n3~5일 걸립니다.")
    ]


def test_the_question_skips_the_answers_to_the_bots_lead_form():
    """The first hour: after a handoff through the lead form, the panel quoted "고객 질문:
    chulsoo@example.kr 010-1234-5678". The lead form's answers are not the question."""
    from sodam.conversations.models import MessageKind

    def m(i, sender, content, kind=MessageKind.text, payload=None):
        return Message(id=i, sender_type=sender, content=content, kind=kind, payload=payload)

    bot, contact = SenderType.bot, SenderType.contact
    newest_first = [
        m(7, bot, "감사합니다. 상담원을 연결해 드릴게요.", MessageKind.bot, {"handoff": True}),
        m(6, contact, "010-1234-5678"),
        m(5, bot, "전화번호를 알려 주세요.", MessageKind.bot, {"lead": "phone"}),
        m(4, contact, "chulsoo@example.kr"),
        m(3, bot, "답변드릴 수 있도록 이메일을 알려 주세요.", MessageKind.bot, {"lead": "email"}),
        m(2, contact, "포장을 선물용으로 바꿀 수 있나요?"),
        m(1, bot, "안녕하세요! 무엇을 도와드릴까요?", MessageKind.bot),
    ]
    assert service._question_of(newest_first) == ("포장을 선물용으로 바꿀 수 있나요?", 2)
    # Without the lead form, the customer's last two lines since the last answer, as before.
    plain = [m(3, contact, "선물 포장도 되나요?"), m(2, contact, "그리고"), m(1, bot, "네", MessageKind.bot)]
    assert service._question_of(plain) == ("그리고 선물 포장도 되나요?", 3)


async def test_korean_and_english_fixture_rank_the_right_article_and_reply_first(make_workspace):
    ws = await make_workspace()
    await _seed(ws)
    ko = await _conversation(ws, [("c", "배송 언제 와요? 주문한 지 좀 됐는데")], language="ko")
    data = await _suggest(ws, ko)
    assert data["locale"] == "ko"
    assert data["articles"][0]["title"] == "배송은 얼마나 걸리나요?"
    assert data["articles"][0]["insert_text"].endswith(f"/articles/{data['articles'][0]['id']}")
    assert data["replies"][0]["reply"].startswith("보통 결제 후 2~3일")
    en = await _conversation(ws, [("c", "I need a refund, the item is not what I ordered")], language="en")
    data = await _suggest(ws, en)
    assert data["locale"] == "en"
    assert data["articles"][0]["title"] == "How do I get a refund?"
    assert data["replies"][0]["reply"].startswith("I've started your refund")
    # the draft re-ranks: typing about the password brings that reply up
    data = await _suggest(ws, en, draft="Settings Account Change password")
    assert data["replies"][0]["reply"].startswith("Go to Settings")
    # only the workspace's own data
    other = await make_workspace()
    theirs = await _conversation(other, [("c", "배송 언제 와요? 주문한 지 좀 됐는데")], language="ko")
    data = await _suggest(other, theirs)
    assert data["articles"] == [] and data["replies"] == []


async def test_empathy_only_on_negative_sentiment_adapted_to_the_situation(make_workspace):
    ws = await make_workspace()
    calm = await _conversation(ws, [("c", "배송이 언제 오는지 궁금해요")], language="ko")
    assert (await _suggest(ws, calm))["empathy"] is None
    angry = await _conversation(
        ws, [("c", "배송이 너무 늦어요. 일주일째 기다리고 있어요. 정말 화나네요")], language="ko"
    )
    async with session_scope() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == angry, Message.sender_type == SenderType.contact)
            .values(sentiment_score=-0.8, sentiment_label="negative")
        )
        await session.commit()
    data = await _suggest(ws, angry)
    assert data["empathy"]["situation"] == "delay"
    assert data["empathy"]["insert_text"].startswith("오래 기다리시게 해서 정말 죄송합니다")
    assert empathy.situation(["The blender arrived broken"]) == "broken"
    assert empathy.situation(["환불해 주세요"]) == "refund"
    assert empathy.situation(["I already told you this"]) == "repeat"
    assert empathy.situation(["별로예요"], repeated_contact=True) == "repeat"
    assert empathy.prompt("en", "refund").startswith("I'm sorry for the trouble")
    assert empathy.prompt("ko", "general").startswith("불편을 드려 죄송합니다")


async def test_reminder_near_a_promised_time(make_workspace):
    ws = await make_workspace()
    conv = await _conversation(ws, [("c", "답변 기다립니다")])
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

    async def set_due(due: datetime, breached: bool = False) -> None:
        async with session_scope() as session:
            clock = {"due": due.isoformat(), "start": now.isoformat(), "breached": breached, "target_s": 600}
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conv)
                .values(sla_clocks={"first_response": clock})
            )
            await session.commit()

    assert (await _suggest(ws, conv, now=now))["reminder"] is None  # no promise
    await set_due(now + timedelta(hours=2))
    assert (await _suggest(ws, conv, now=now))["reminder"] is None  # far away
    await set_due(now + timedelta(minutes=7))
    r = (await _suggest(ws, conv, now=now))["reminder"]
    assert r["kind"] == "first_response" and r["minutes_left"] == 7 and not r["overdue"]
    assert r["message"] == "첫 응답 약속 시간까지 7분 남았습니다."
    await set_due(now - timedelta(minutes=3), breached=True)
    r = (await _suggest(ws, conv, now=now))["reminder"]
    assert r["overdue"] and "지났습니다" in r["message"]


async def test_stats_count_and_isolation_over_the_api(make_workspace, live_server):
    ws = await make_workspace()
    other = await make_workspace()
    conv = await _conversation(ws, [("c", "환불 문의")])
    theirs = await _conversation(other, [("c", "환불 문의")])
    async with client(live_server, ws.api_token) as api:
        r = await api.post(f"/conversations/{conv}/assist", json={"draft": "환불"})
        assert r.status_code == 200, r.text
        assert set(r.json()) >= {"articles", "replies", "canned", "empathy", "reminder"}
        assert (
            await api.post(
                "/assist/usage", json={"shown": {"article": 3, "reply": 2}, "inserted": {"article": 1}}
            )
        ).status_code == 204
        assert (
            await api.post("/assist/usage", json={"shown": {"article": 1}, "inserted": {"article": 1}})
        ).status_code == 204
        stats = (await api.get("/assist/stats")).json()
        assert stats["kinds"]["article"] == {"shown": 4, "inserted": 2, "rate": 0.5}
        assert stats["kinds"]["reply"]["shown"] == 2 and stats["total"]["inserted"] == 2
        # another workspace's conversation: 404; bad input: 4xx with the error body
        assert_error(await api.post(f"/conversations/{theirs}/assist", json={}), 404, "not_found")
        assert (
            await api.post(f"/conversations/{conv}/assist", json={"draft": "x" * 2001})
        ).status_code == 422
        assert (await api.post(f"/conversations/{conv}/assist", json={"other": 1})).status_code == 422
        assert (await api.post("/assist/usage", json={"shown": {"video": 1}})).status_code == 422
        assert (await api.post("/assist/usage", json={"shown": {"article": 1000}})).status_code == 422
        assert_error(
            await api.get("/assist/stats", params={"since": "2026-12-03", "until": "2026-01-01"}), 422
        )
        assert (await api.get("/assist/stats", params={"since": "yesterday"})).status_code == 422
    async with client(live_server, other.api_token) as api:
        assert (await api.get("/assist/stats")).json()["total"]["shown"] == 0


async def test_the_index_refreshes_when_a_conversation_is_resolved(make_workspace):
    ws = await make_workspace()
    first = await _conversation(
        ws, [("c", "포인트는 언제 적립되나요?"), ("a", "구매 확정 후 다음 날 적립됩니다.")]
    )
    index = await _registry_index(ws)
    assert len(index) == 0
    async with session_scope() as session:
        await conversations.set_status(
            session,
            workspace_id=ws.workspace_id,
            conversation_id=first,
            status=Status.resolved,
            actor_id=None,
        )
        await assist_index.index_conversation(session, conversation_id=first)
        await assist_index.index_conversation(session, conversation_id=first)  # twice: stored once
        await session.commit()
        rows = list(
            await session.scalars(select(AssistReply).where(AssistReply.workspace_id == ws.workspace_id))
        )
    assert len(rows) == 1 and rows[0].question == "포인트는 언제 적립되나요?"
    index.checked_at = 0  # as if the signature check were due
    index = await _registry_index(ws)
    assert len(index) == 1
    cands = index.candidates("포인트 적립 언제 돼요?", "ko", None)
    assert cands and cands[0].text.startswith("구매 확정 후")


async def _registry_index(ws) -> engine.ReplyIndex:
    async with session_scope() as session:
        return await assist_index.registry.get(session, ws.workspace_id)


async def test_console_routes_need_a_session_and_csrf(make_workspace, live_server):
    from tests.test_console_helpers import add_agent, console_client, csrf_of

    ws = await make_workspace()
    _id, email, password = await add_agent(ws, role=Role.agent)
    conv = await _conversation(ws, [("c", "배송 문의")])
    c = await console_client(live_server, email, password)
    try:
        r = await c.post(f"/console/conversations/{conv}/assist", json={"draft": ""})
        assert r.status_code == 403  # no CSRF header
        r = await c.post(
            f"/console/conversations/{conv}/assist", json={"draft": ""}, headers={"X-CSRF-Token": csrf_of(c)}
        )
        assert r.status_code == 200 and "usage_line" in r.json()
    finally:
        await c.aclose()


async def test_a_large_index_is_built_in_the_background(make_workspace, monkeypatch):
    ws = await make_workspace()
    for question, answer in KO_HISTORY:
        await _conversation(ws, [("c", question), ("a", answer)], language="ko", resolve=True)
    monkeypatch.setattr(assist_index, "INLINE_ROWS", 1)
    assist_index.registry.forget(ws.workspace_id)
    first = await _registry_index(ws)
    assert len(first) == 0  # the request did not wait for the build
    for _ in range(100):
        task = assist_index.registry._building.get(ws.workspace_id)
        if task is None:
            break
        await task
    built = await _registry_index(ws)
    assert len(built) == 3


async def test_a_workspace_with_history_but_no_index_gets_its_backfill_queued_once(make_workspace):
    """An upgrade or the demo data: resolved conversations with agent answers, nothing indexed.
    The hourly sweep queues the workspace's backfill once; the backfill indexes its answers."""
    from sodam.assist import tasks

    ws = await make_workspace()
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="고객", email=None)
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        await conversations.create_message(
            session,
            conversation=conv,
            content="환불은 얼마나 걸려요?",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
        await conversations.create_message(
            session,
            conversation=conv,
            content="환불은 영업일 기준 3일 안에 처리됩니다.",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        conv.status = Status.resolved  # as an older version left it: no resolve event, no job
        await session.commit()

    async def queued() -> int:
        async with session_scope() as session:
            return await session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'assist.index_workspace'"
                    " AND (args->>'workspace_id')::bigint = :w"
                ),
                {"w": ws.workspace_id},
            )

    assert await tasks.backfill(timestamp=0) >= 1
    assert await queued() == 1
    # Again while it waits: still one job waiting (a test server's worker may have taken the
    # first already, and then the sweep may queue it again until the index has rows).
    await tasks.backfill(timestamp=0)
    async with session_scope() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'assist.index_workspace'"
                " AND (args->>'workspace_id')::bigint = :w AND status = 'todo'"
            ),
            {"w": ws.workspace_id},
        )
    assert waiting <= 1
    # (A test server's worker may run the queued job first: either way, stored once.)
    await tasks.index_workspace(workspace_id=ws.workspace_id)
    async with session_scope() as session:
        stored = list(
            await session.scalars(select(AssistReply).where(AssistReply.workspace_id == ws.workspace_id))
        )
    assert [r.conversation_id for r in stored] == [conv.id]


@pytest.mark.skipif(not encoders.available_channels(), reason="no sentence encoder installed")
async def test_with_sentence_vectors_the_article_the_bot_would_answer_with_is_suggested(make_workspace):
    """With the articles' vectors stored, a question the bot answers with the shipping article
    (its answer probability above the bot's bar) shows that article to the agent too."""
    ws = await make_workspace()
    await _seed(ws)
    assert await embedding.embed_articles(ws.workspace_id) > 0
    kb_index.registry.forget(ws.workspace_id)
    conv = await _conversation(
        ws, [("c", "배송 언제 와요? 주문한 지 일주일이 넘었는데 너무 늦네요")], language="ko"
    )
    data = await _suggest(ws, conv)
    assert data["articles"] and data["articles"][0]["title"] == "배송은 얼마나 걸리나요?"
