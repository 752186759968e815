"""Three more rough edges of issue 9 §8, each reproduced: the knowledge-base editor lost an
unsaved body when a phrasing was added; "대기 중 (N)" did not go down on accepting a
proposal; an assignment could show above the message it followed."""

from __future__ import annotations

import asyncio
import re

from sodam.bot.models import BotLearningProposal
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from sodam.knowledge import service as knowledge
from tests.test_console_helpers import console_client, csrf_of, post, seed_conversation


async def test_adding_a_phrasing_keeps_the_unsaved_body(live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as session:
        article = await knowledge.create_article(
            session, workspace_id=ws.workspace_id, title="배송 조회", body="옛 본문"
        )
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    # What the editor's form sends when "추가" is pressed: the wording and everything typed.
    r = await client.post(
        f"/console/kb/articles/{article.id}/questions",
        data={
            "csrf_token": csrf_of(client),
            "title": "배송 조회하기",
            "body": "새로 쓴 본문, 아직 저장 안 함",
            "locale": "ko",
            "category_id": "",
            "questions": "",
            "text": "택배 어디쯤이에요",
        },
    )
    assert r.status_code == 200, r.text
    assert "새로 쓴 본문, 아직 저장 안 함" in r.text and 'value="배송 조회하기"' in r.text
    assert 'id="kb-notice"' in r.text
    questions = re.search(r'<textarea name="questions"[^>]*>(.*?)</textarea>', r.text, re.S).group(1)
    assert questions.strip() == "택배 어디쯤이에요"  # saving the form later keeps the new wording
    async with session_scope() as session:
        stored = await knowledge.get_article(session, workspace_id=ws.workspace_id, article_id=article.id)
        assert stored.body == "옛 본문"  # nothing saved behind the agent's back
        assert [q.text for q in stored.alternate_questions] == ["택배 어디쯤이에요"]
    # The page's add button belongs to the editor's form, so the browser sends it all.
    page = await client.get(f"/console/kb/articles/{article.id}")
    assert 'form="kb-form" formaction="/console/kb/articles/' in page.text
    await client.aclose()


async def test_accepting_a_proposal_lowers_the_waiting_count(live_server, make_workspace):
    ws = await make_workspace()
    ids = []
    for i in range(3):
        conversation_id, _ = await seed_conversation(ws, text=f"질문 {i}")
        async with session_scope() as session:
            p = BotLearningProposal(
                workspace_id=ws.workspace_id,
                conversation_id=conversation_id,
                kind="draft_article",
                question=f"해외 배송 되나요 {i}",
                answer="네, 가능합니다.",
            )
            session.add(p)
            await session.flush()
            ids.append(p.id)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    page = await client.get("/console/bot/proposals")
    assert '(<span id="proposals-pending-count">3</span>)' in page.text
    r = await post(client, f"/console/bot/proposals/{ids[0]}/accept")
    assert r.status_code == 200, r.text
    # The swapped row brings the new counts out of band: the tab and the rail's badge.
    assert '<span id="proposals-pending-count" hx-swap-oob="true">2</span>' in r.text
    assert re.search(r'id="bot-pending-count" hx-swap-oob="true">2</span>', r.text)
    r = await post(client, f"/console/bot/proposals/{ids[1]}/reject")
    assert '<span id="proposals-pending-count" hx-swap-oob="true">1</span>' in r.text
    await client.aclose()


async def test_an_assignment_never_shows_above_the_message_it_followed(live_server, make_workspace):
    ws = await make_workspace()
    conversation_id, contact_id = await seed_conversation(ws, text="첫 문의")
    async with session_scope() as session:
        # One transaction that began before the message it then follows (a bot job, a slow
        # request): the assignment must still be stamped after the message.
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=conversation_id
        )
        await asyncio.sleep(0.05)
        await conversations.create_message(
            session,
            conversation=conversation,
            content="상담원 연결해 주세요",
            sender_type=SenderType.contact,
            sender_id=contact_id,
        )
        await conversations.assign(
            session,
            workspace_id=ws.workspace_id,
            conversation_id=conversation_id,
            assignee_id=ws.agent_id,
            actor_id=ws.agent_id,
        )
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    page = (await client.get(f"/console/conversations/{conversation_id}")).text
    await client.aclose()
    timeline = page[page.index('id="messages"') :]
    assert timeline.index("상담원 연결해 주세요") < timeline.index("data-event-id=")


async def test_the_knowledge_base_counts_votes_in_words_not_emoji(live_server, make_workspace):
    """Chromium without an emoji font drew 👍 / 👎 as empty boxes in the list's header and the
    editor's counts (the first hour, 2026-12-04)."""
    ws = await make_workspace()
    async with session_scope() as session:
        article = await knowledge.create_article(
            session, workspace_id=ws.workspace_id, title="선물 포장", body="가능합니다.", status="published"
        )
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    listing = await client.get("/console/kb")
    editor = await client.get(f"/console/kb/articles/{article.id}")
    assert "<th>도움됨 / 안 됨</th>" in listing.text and "👍" not in listing.text
    assert "조회 0회 · 도움됨 0 · 도움 안 됨 0" in editor.text and "👎" not in editor.text
    await client.aclose()
