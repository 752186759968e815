"""Learning from every interaction: an agent's answer to a handed-off question becomes a
proposal (alternate question of the linked article, or a draft article) that a 매니저
accepts or rejects in the console or the API; the bot's confirmed answers and the help
center's votes feed the ranking."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select, text

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.bot import learning, service
from sodam.bot import state as bot_state
from sodam.bot.knowledge_source import KnowledgeBaseSource
from sodam.bot.models import BotLearningProposal, BotState
from sodam.bot.reply_jobs import REPLY_LOCK, REPLY_TASK
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import MessageKind, SenderType
from sodam.db.session import session_scope
from sodam.knowledge import engagement
from sodam.knowledge import service as knowledge
from tests.test_console_helpers import add_agent, console_client, csrf_of, post

OPEN = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 12:00 in Seoul: no lead capture


async def take_back_jobs(session, conversation_id: int) -> None:
    """The jobs a message just deferred for this conversation (the bot's reply, learning from an
    agent's reply), taken back before commit: the test runs them itself, and a live test
    server's worker taking them first would leave the test's own call with nothing to do."""
    await session.execute(
        text(
            "DELETE FROM procrastinate_jobs WHERE status = 'todo' AND lock = :lock AND task_name = ANY(:tasks)"
        ),
        {
            "lock": REPLY_LOCK.format(conversation_id=conversation_id),
            "tasks": [REPLY_TASK, "bot.learn_from_agent_reply"],
        },
    )


QUESTION = "외국에서도 주문 받으시나요?"

ARTICLES = {
    "shipping": (
        "배송 기간 안내",
        "주문 후 평균 2~3일(영업일 기준) 안에 도착합니다.",
        ["배송기간 얼마나 걸려요?"],
    ),
    "refund": (
        "환불 신청 방법",
        "마이페이지 > 주문 내역에서 환불 신청 버튼을 눌러 주세요.",
        ["환불해주세요"],
    ),
    "abroad": ("국제 배송 안내", "미국, 일본, 중국으로 보내 드립니다. 배송비는 지역마다 다릅니다.", []),
}


class Handoff:
    """A bot-enabled workspace whose customer asked QUESTION and was handed to a person."""

    def __init__(self, ws, articles: dict[str, int], conversation_id: int, contact_id: int):
        self.ws = ws
        self.articles = articles
        self.conversation_id = conversation_id
        self.contact_id = contact_id

    def link(self, key: str, slug: str | None = None) -> str:
        return f"http://127.0.0.1:8000/help/{slug or self.ws.slug}/articles/{self.articles[key]}"

    async def customer(self, text: str) -> str:
        async with session_scope() as session:
            conv = await conversations.get(
                session, workspace_id=self.ws.workspace_id, conversation_id=self.conversation_id
            )
            message, _ = await conversations.create_message(
                session,
                conversation=conv,
                content=text,
                sender_type=SenderType.contact,
                sender_id=self.contact_id,
            )
            await take_back_jobs(session, self.conversation_id)
        async with session_scope() as session:
            return await service.handle_customer_message(
                session, message_id=message.id, kb=KnowledgeBaseSource(), now=OPEN
            )

    async def agent(
        self, text: str, *, kind: MessageKind = MessageKind.text, agent_id: int | None = None
    ) -> int:
        """The agent's message (committed); returns its id. The job is run by the test."""
        async with session_scope() as session:
            conv = await conversations.get(
                session, workspace_id=self.ws.workspace_id, conversation_id=self.conversation_id
            )
            message, _ = await conversations.create_message(
                session,
                conversation=conv,
                content=text,
                sender_type=SenderType.agent,
                sender_id=agent_id or self.ws.agent_id,
                kind=kind,
            )
            await take_back_jobs(session, self.conversation_id)
            return message.id

    async def learn(self, message_id: int) -> str:
        async with session_scope() as session:
            return await learning.learn_from_agent_reply(session, message_id=message_id)

    async def proposals(self) -> list[BotLearningProposal]:
        async with session_scope() as session:
            return await learning.list_proposals(session, workspace_id=self.ws.workspace_id, status=None)


async def start(make_workspace, *, hand_off: bool = True, question: str = QUESTION, **ws_kw) -> Handoff:
    ws = await make_workspace(bot_enabled=True, lead_capture="off", **ws_kw)
    ids = {}
    async with session_scope() as session:
        for key, (title, body, questions) in ARTICLES.items():
            article = await knowledge.create_article(
                session,
                workspace_id=ws.workspace_id,
                title=title,
                body=body,
                status="published",
                alternate_questions=questions,
            )
            ids[key] = article.id
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="김고객")
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
    h = Handoff(ws, ids, conv.id, contact.id)
    if hand_off:
        await h.customer(question)
        async with session_scope() as session:
            state = await bot_state.get_state(session, workspace_id=ws.workspace_id, conversation_id=conv.id)
        if state.state != BotState.handed_off:
            await h.customer("상담원 연결해 주세요")
        async with session_scope() as session:
            state = await bot_state.get_state(session, workspace_id=ws.workspace_id, conversation_id=conv.id)
        assert state.state == BotState.handed_off and state.last_question == question
    return h


async def bot_answers(workspace_id: int, text: str) -> tuple[str, int | None]:
    async with session_scope() as session:
        result = await knowledge.search(session, workspace_id=workspace_id, query=text, locale="ko")
    return result.decision, result.hits[0].article_id if result.hits else None


async def test_linked_article_becomes_an_alternate_question_the_bot_then_finds(make_workspace):
    h = await start(make_workspace)
    assert await bot_answers(h.ws.workspace_id, QUESTION) != ("answer", h.articles["abroad"])
    greeting = await h.agent("안녕하세요 고객님, 확인해 보겠습니다.")
    assert await h.learn(greeting) == "proposed_draft"  # nothing better known yet
    reply = await h.agent(f"네, 해외 배송 가능합니다. 자세한 내용은 여기를 봐 주세요: {h.link('abroad')}")
    assert await h.learn(reply) == "proposed_question"  # the pending draft becomes the better proposal
    (proposal,) = await h.proposals()
    assert proposal.kind == "alternate_question" and proposal.status == "pending"
    assert proposal.article_id == h.articles["abroad"] and proposal.question == QUESTION
    assert proposal.agent_message_id == reply and "해외 배송 가능합니다" in proposal.answer
    assert await h.learn(await h.agent("더 궁금하신 점 있으신가요?")) == "exists"

    async with session_scope() as session:
        decided = await learning.decide(
            session,
            workspace_id=h.ws.workspace_id,
            proposal_id=proposal.id,
            accept=True,
            decided_by=h.ws.agent_id,
        )
        assert decided.status == "accepted" and decided.decided_by == h.ws.agent_id
    async with session_scope() as session:
        article = await knowledge.get_article(
            session, workspace_id=h.ws.workspace_id, article_id=h.articles["abroad"]
        )
        assert QUESTION in [q.text for q in article.alternate_questions]
    # The customer's own wording now finds the article, for the bot and the help center alike.
    assert await bot_answers(h.ws.workspace_id, QUESTION) == ("answer", h.articles["abroad"])


async def test_plain_reply_becomes_a_draft_article_by_the_agent_who_answered(make_workspace):
    h = await start(make_workspace)
    agent_id, _email, _pw = await add_agent(h.ws, role=Role.agent)
    first = await h.agent("안녕하세요, 상담원 이소담입니다.", agent_id=agent_id)
    note = await h.agent("내부 메모: 물류팀 확인 필요", kind=MessageKind.note, agent_id=agent_id)
    second = await h.agent(
        "현재 해외 주문은 받지 않습니다.\n국내 배송지로만 주문하실 수 있습니다.", agent_id=agent_id
    )
    assert await h.learn(note) == "ignored"  # private notes never teach the customer-facing KB
    assert await h.learn(first) == "proposed_draft"
    assert await h.learn(second) == "updated_draft"
    assert await h.learn(second) == "exists"  # a retried job changes nothing
    assert await h.learn(first) == "exists"  # nor does an old reply arriving late
    (proposal,) = await h.proposals()
    assert proposal.kind == "draft_article" and proposal.article_id is None
    assert proposal.answer == (
        "안녕하세요, 상담원 이소담입니다.\n\n현재 해외 주문은 받지 않습니다.\n국내 배송지로만 주문하실 수 있습니다."
    )
    assert "내부 메모" not in proposal.answer and proposal.agent_id == agent_id

    async with session_scope() as session:
        decided = await learning.decide(
            session,
            workspace_id=h.ws.workspace_id,
            proposal_id=proposal.id,
            accept=True,
            decided_by=h.ws.agent_id,
        )
        draft_id = decided.article_id
    async with session_scope() as session:
        draft = await knowledge.get_article(session, workspace_id=h.ws.workspace_id, article_id=draft_id)
        assert draft.status == "draft" and draft.title == QUESTION and draft.locale == "ko"
        assert draft.author_id == agent_id and "국내 배송지로만" in draft.body
    # A draft is not published: the bot does not answer from it until a 매니저 publishes it.
    assert await bot_answers(h.ws.workspace_id, QUESTION) != ("answer", draft_id)


async def test_no_proposal_when_the_bot_never_handed_off(make_workspace):
    # The bot answered and the customer confirmed: an agent's later message teaches nothing.
    h = await start(make_workspace, hand_off=False)
    assert await h.customer("배송기간 얼마나 걸려요?") == "answered"
    assert await h.customer("네, 도움이 됐어요") == "confirmed"
    assert await h.learn(await h.agent(f"참고하세요 {h.link('shipping')}")) == "not_handed_off"
    # An inbox without the bot: no bot record at all.
    ws = await make_workspace()
    async with session_scope() as session:
        contact = await contacts.create(session, workspace_id=ws.workspace_id, name="x")
        conv = await conversations.create(
            session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=contact.id
        )
        message, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="답변드립니다",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
    async with session_scope() as session:
        assert await learning.learn_from_agent_reply(session, message_id=message.id) == "not_handed_off"
        # The customer's own message is not an answer either.
        customer, _ = await conversations.create_message(
            session,
            conversation=conv,
            content="감사합니다",
            sender_type=SenderType.contact,
            sender_id=contact.id,
        )
        assert await learning.learn_from_agent_reply(session, message_id=customer.id) == "ignored"
    assert await h.proposals() == []


async def test_one_proposal_even_when_the_job_runs_twice_at_once(make_workspace):
    h = await start(make_workspace)
    reply = await h.agent(f"이 문서를 참고해 주세요 {h.link('abroad')}")
    results = await asyncio.gather(h.learn(reply), h.learn(reply))
    assert sorted(results) == ["exists", "proposed_question"]
    assert len(await h.proposals()) == 1


async def test_links_to_other_workspaces_and_known_wordings(make_workspace):
    h = await start(make_workspace)
    other = await start(make_workspace)
    # Another workspace's help center (its slug, its article id): treated as a plain reply.
    foreign = await h.agent(f"여기 보세요 {other.link('abroad')}")
    assert await h.learn(foreign) == "proposed_draft"
    # The customer's wording is already an alternate question of the linked article: nothing to add.
    k = await start(make_workspace, question="배송기간 얼마나 걸려요?")
    assert await k.learn(await k.agent(f"여기 있습니다 {k.link('shipping')}")) == "already_known"
    assert await k.proposals() == []


# -- ranking feedback -------------------------------------------------------------------
def test_feedback_factor_is_mild_and_bounded():
    assert knowledge.feedback_factor(0, 0) == 1.0
    assert 1.0 < knowledge.feedback_factor(1, 0) < 1.01  # one vote cannot beat relevance
    assert 0.99 < knowledge.feedback_factor(0, 1) < 1.0
    assert knowledge.feedback_factor(10_000, 0) <= 1.1 and knowledge.feedback_factor(0, 10_000) >= 0.9
    assert knowledge.feedback_factor(5, 5) == 1.0


async def test_feedback_costs_no_query_when_it_cannot_change_the_order():
    hit = knowledge.KbHit(1, "t", "ko", None, "", 1.0, 1.0)
    apart = [hit, replace(hit, article_id=2, score=0.8), replace(hit, article_id=3, score=0.1)]
    assert await knowledge._with_feedback(None, 1, apart) == apart  # None: any query would fail
    assert await knowledge._with_feedback(None, 1, apart[:1]) == apart[:1]


async def twins(make_workspace):
    ws = await make_workspace(bot_enabled=True, lead_capture="off")
    async with session_scope() as session:
        ids = [
            (
                await knowledge.create_article(
                    session,
                    workspace_id=ws.workspace_id,
                    title="포인트 적립 안내",
                    body="구매 금액의 1%가 포인트로 적립됩니다.",
                    status="published",
                )
            ).id
            for _ in range(2)
        ]
    return ws, ids


async def ranked(workspace_id: int, text: str = "포인트 적립 안내") -> list[int]:
    async with session_scope() as session:
        result = await knowledge.search(session, workspace_id=workspace_id, query=text, locale="ko")
    return [h.article_id for h in result.hits]


async def test_a_confirmed_article_wins_a_tie(make_workspace):
    ws, (first, second) = await twins(make_workspace)
    assert (await ranked(ws.workspace_id))[:2] == [first, second]  # lexical tie: index order
    async with session_scope() as session:
        await engagement.record_bot_feedback(
            session, workspace_id=ws.workspace_id, article_id=second, helpful=True
        )
    assert (await ranked(ws.workspace_id))[:2] == [second, first]
    async with session_scope() as session:  # a 👎 and the bot's "no" on it: back behind
        await engagement.record_bot_feedback(
            session, workspace_id=ws.workspace_id, article_id=second, helpful=False
        )
        await engagement.record_bot_feedback(
            session, workspace_id=ws.workspace_id, article_id=second, helpful=False
        )
    assert (await ranked(ws.workspace_id))[:2] == [first, second]


async def test_a_helpful_vote_wins_a_tie(make_workspace):
    ws, (first, second) = await twins(make_workspace)
    async with session_scope() as session:
        assert await engagement.vote(
            session, workspace_id=ws.workspace_id, article_id=second, visitor="v-1", helpful=True
        )
    assert (await ranked(ws.workspace_id))[:2] == [second, first]


async def test_feedback_does_not_beat_relevance(make_workspace):
    ws, (first, second) = await twins(make_workspace)
    async with session_scope() as session:
        weaker = await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="회원 등급 안내",
            body="등급에 따라 포인트 혜택이 다릅니다.",
            status="published",
        )
        for i in range(50):
            await engagement.vote(
                session, workspace_id=ws.workspace_id, article_id=weaker.id, visitor=f"v{i}", helpful=True
            )
    order = await ranked(ws.workspace_id, "포인트")  # both titles say it; the weaker only its body
    assert weaker.id in order and order.index(weaker.id) > order.index(first)


async def test_the_bots_yes_and_no_are_counted_on_the_answered_article(make_workspace):
    h = await start(make_workspace, hand_off=False)
    assert await h.customer("배송기간 얼마나 걸려요?") == "answered"
    assert await h.customer("네") == "confirmed"
    other = await start(make_workspace, hand_off=False)
    assert await other.customer("환불해주세요") == "answered"
    assert await other.customer("아니요") in ("handed_off", "collecting_lead")
    async with session_scope() as session:
        shipping = await knowledge.get_article(
            session, workspace_id=h.ws.workspace_id, article_id=h.articles["shipping"]
        )
        refund = await knowledge.get_article(
            session, workspace_id=other.ws.workspace_id, article_id=other.articles["refund"]
        )
        await session.refresh(shipping)
        await session.refresh(refund)
        assert (shipping.bot_confirmed_count, shipping.bot_unhelpful_count) == (1, 0)
        assert (refund.bot_confirmed_count, refund.bot_unhelpful_count) == (0, 1)


# -- console and REST -------------------------------------------------------------------
async def draft_proposal(make_workspace, **ws_kw) -> tuple[Handoff, int]:
    h = await start(make_workspace, **ws_kw)
    assert await h.learn(await h.agent("현재 해외 주문은 받지 않습니다.")) == "proposed_draft"
    (proposal,) = await h.proposals()
    return h, proposal.id


async def test_console_review_queue(live_server, make_workspace):
    h, proposal_id = await draft_proposal(make_workspace, role=Role.supervisor)
    _id, agent_email, agent_pw = await add_agent(h.ws, role=Role.agent)
    agent = await console_client(live_server, agent_email, agent_pw)
    supervisor = await console_client(live_server, h.ws.agent_email, h.ws.agent_password)
    try:
        assert (await agent.get("/console/bot/proposals")).status_code == 403
        assert (await post(agent, f"/console/bot/proposals/{proposal_id}/accept")).status_code == 403
        home = await agent.get("/console")
        assert "nav-bot" not in home.text

        home = await supervisor.get("/console")
        assert 'id="nav-bot"' in home.text and "봇 학습" in home.text
        badge = await supervisor.get("/console/bot/proposals/count", headers={"HX-Request": "true"})
        assert badge.status_code == 200 and badge.text == "1"
        page = await supervisor.get("/console/bot/proposals")
        assert page.status_code == 200
        assert QUESTION in page.text and "현재 해외 주문은 받지 않습니다." in page.text
        assert f'href="/console/conversations/{h.conversation_id}"' in page.text
        assert f'id="proposal-{proposal_id}"' in page.text

        # CSRF: no token, or a wrong one, is refused before anything changes.
        r = await supervisor.post(
            f"/console/bot/proposals/{proposal_id}/accept", headers={"HX-Request": "true"}
        )
        assert r.status_code == 403
        r = await post(
            supervisor, f"/console/bot/proposals/{proposal_id}/accept", headers={"X-CSRF-Token": "x" * 43}
        )
        assert r.status_code == 403
        assert (await h.proposals())[0].status == "pending"

        r = await post(supervisor, f"/console/bot/proposals/{proposal_id}/accept")
        assert r.status_code == 200 and 'data-status="accepted"' in r.text
        draft_id = (await h.proposals())[0].article_id
        assert f'href="/console/kb/articles/{draft_id}"' in r.text  # polish and publish in the editor
        again = await post(supervisor, f"/console/bot/proposals/{proposal_id}/reject")
        assert again.status_code == 409 and "이미 처리된 제안입니다" in again.json()["error"]["message"]
        page = await supervisor.get("/console/bot/proposals")
        assert QUESTION not in page.text and "검토할 제안이 없습니다." in page.text
        page = await supervisor.get("/console/bot/proposals?status=accepted")
        assert QUESTION in page.text

        # Without htmx the form posts and redirects back; the English console reads English.
        h2, other_id = await draft_proposal(make_workspace)
        _sid, en_email, en_pw = await add_agent(h2.ws, role=Role.supervisor, locale="en")
        english = await console_client(live_server, en_email, en_pw)
        try:
            page = await english.get("/console/bot/proposals")
            assert "Bot learning proposals" in page.text and "New draft article" in page.text
            r = await english.post(
                f"/console/bot/proposals/{other_id}/reject", data={"csrf_token": csrf_of(english)}
            )
            assert r.status_code == 303 and r.headers["location"] == "/console/bot/proposals"
            assert (await h2.proposals())[0].status == "rejected"
            # Another workspace's proposal is simply not found.
            assert (await post(english, f"/console/bot/proposals/{proposal_id}/accept")).status_code == 404
        finally:
            await english.aclose()
    finally:
        await agent.aclose()
        await supervisor.aclose()


def api(server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )


async def test_rest_review_queue(live_server, make_workspace):
    h = await start(make_workspace, role=Role.supervisor)
    assert await h.learn(await h.agent(f"참고해 주세요 {h.link('abroad')}")) == "proposed_question"
    more = []
    for _ in range(2):  # more handed-off conversations in the same workspace
        async with session_scope() as session:
            contact = await contacts.create(session, workspace_id=h.ws.workspace_id, name="고객")
            conv = await conversations.create(
                session, workspace_id=h.ws.workspace_id, inbox_id=h.ws.inbox_id, contact_id=contact.id
            )
        extra = Handoff(h.ws, h.articles, conv.id, contact.id)
        await extra.customer("사은품은 언제 오나요?")
        await extra.customer("상담원 연결해 주세요")
        assert await extra.learn(await extra.agent("다음 주에 발송됩니다.")) == "proposed_draft"
        more.append(extra)
    proposals = await h.proposals()
    assert len(proposals) == 3
    agent_id, _e, _p = await add_agent(h.ws, role=Role.agent)
    async with session_scope() as session:
        _t, agent_token = await accounts.create_api_token(
            session, workspace_id=h.ws.workspace_id, agent_id=agent_id, name="agent"
        )
    outsider = await draft_proposal(make_workspace)
    async with api(live_server, h.ws.api_token) as client, api(live_server, agent_token) as as_agent:
        first = await client.get("/bot/proposals", params={"limit": 2})
        assert first.status_code == 200, first.text
        body = first.json()
        assert [p["id"] for p in body["data"]] == [p.id for p in proposals[:2]]  # newest first
        assert body["next_cursor"]
        rest = (await client.get("/bot/proposals", params={"limit": 2, "cursor": body["next_cursor"]})).json()
        assert [p["id"] for p in rest["data"]] == [proposals[2].id] and rest["next_cursor"] is None
        linked = rest["data"][0]
        assert linked["kind"] == "alternate_question" and linked["question"] == QUESTION
        assert linked["article_id"] == h.articles["abroad"] and linked["status"] == "pending"
        bad = await client.get("/bot/proposals", params={"cursor": "nonsense"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"

        assert (await as_agent.get("/bot/proposals")).status_code == 403
        r = await as_agent.post(f"/bot/proposals/{linked['id']}/accept")
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_required"

        r = await client.post(f"/bot/proposals/{linked['id']}/accept")
        assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["decided_at"]
        r = await client.post(f"/bot/proposals/{linked['id']}/accept")
        assert r.status_code == 409 and r.json()["error"]["code"] == "proposal_decided"
        r = await client.post(f"/bot/proposals/{proposals[0].id}/reject")
        assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["article_id"] is None
        pending = (await client.get("/bot/proposals")).json()["data"]
        assert [p["id"] for p in pending] == [proposals[1].id]
        every = (await client.get("/bot/proposals", params={"status": "all"})).json()["data"]
        assert len(every) == 3

        # Workspace isolation: another workspace's proposal is not found and not listed.
        other_h, other_id = outsider
        assert (await client.post(f"/bot/proposals/{other_id}/accept")).status_code == 404
        assert (await client.post(f"/bot/proposals/{other_id}/reject")).status_code == 404
        assert other_id not in [p["id"] for p in every]
        assert (await other_h.proposals())[0].status == "pending"
        assert (await client.post("/bot/proposals/99999999999/accept")).status_code == 404
        # The server that applied it answers the customer's wording with the linked article.
        found = (await client.get("/kb/search", params={"q": QUESTION, "locale": "ko"})).json()
        assert found["decision"] == "answer" and found["data"][0]["article_id"] == h.articles["abroad"]


async def test_an_agent_reply_on_the_server_is_learned_by_the_job(live_server, make_workspace):
    """The reaction end to end: the reply is sent through the REST API, a worker runs the job."""
    h = await start(make_workspace)
    async with api(live_server, h.ws.api_token) as client:
        r = await client.post(
            f"/conversations/{h.conversation_id}/messages",
            json={"content": f"해외 배송 안내는 여기 있습니다: {h.link('abroad')}", "client_id": "learn-1"},
        )
        assert r.status_code == 201, r.text
        note = await client.post(
            f"/conversations/{h.conversation_id}/messages",
            json={"content": "메모: 링크 보냄", "private": True, "client_id": "learn-2"},
        )
        assert note.status_code == 201
    proposals = []
    for _ in range(900):  # the live server's worker shares it with every other test's jobs
        proposals = await h.proposals()
        if proposals:
            break
        await asyncio.sleep(0.1)
    assert [(p.kind, p.article_id, p.question) for p in proposals] == [
        ("alternate_question", h.articles["abroad"], QUESTION)
    ]
    async with session_scope() as session:
        count = await session.scalar(
            select(func.count()).where(BotLearningProposal.conversation_id == h.conversation_id)
        )
    assert count == 1


@pytest.mark.parametrize(
    "ask",
    [
        "주문번호를 알려 주시면 확인해 드리겠습니다",
        "안녕하세요, 상담원 이소담입니다. 가입하신 이메일 주소를 알려 주시겠어요?",
        "오류 화면을 캡처해서 보내 주세요.",
        "Hi! Could you send me your order number and a screenshot?",
        "Thanks for waiting. What is your phone number?",
    ],
)
async def test_a_reply_that_only_asks_the_customer_for_details_is_not_learned(make_workspace, ask):
    """The first hour's draft article "주문번호를 알려 주시면…": a question back to the customer
    answers nothing. The answer that follows it is learned, without the question."""
    h = await start(make_workspace)
    assert await h.learn(await h.agent(ask)) == "asked_for_information"
    assert await h.proposals() == []
    await h.customer("12345 입니다")
    answer = await h.agent("현재 해외 주문은 받지 않습니다. 국내 배송지로만 주문하실 수 있습니다.")
    assert await h.learn(answer) == "proposed_draft"
    (proposal,) = await h.proposals()
    assert proposal.answer == "현재 해외 주문은 받지 않습니다. 국내 배송지로만 주문하실 수 있습니다."


@pytest.mark.parametrize(
    "answer",
    [
        "Please update your email address in Settings > Account.",
        "연락처를 변경하시려면 마이페이지에서 수정해 주시면 됩니다.",
        "주문번호를 알려 주세요. 해외 배송은 7일 걸립니다.",
    ],
)
async def test_an_answer_that_mentions_a_detail_is_still_learned(make_workspace, answer):
    h = await start(make_workspace)
    assert await h.learn(await h.agent(answer)) == "proposed_draft"
