"""Learning from every interaction: a person's answer to a question the bot handed off
becomes a proposal a 매니저 reviews.

If the agent's reply links a help-center article of the workspace, the customer's
wording is proposed as an "also asked as" question of that article (the bot will
find it next time); otherwise the agent's replies are proposed as a draft article
titled with the customer's question. Nothing reaches the knowledge base until a
supervisor accepts. Runs as a job after the agent's message is committed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.bot.models import BotConversation, BotLearningProposal, BotOutcome, BotState
from sodam.conversations.models import Message, MessageKind, SenderType
from sodam.core.errors import Conflict, NotFound
from sodam.knowledge import service as knowledge

# /help/{workspace slug}/articles/{id}, as KnowledgeBaseSource and the help center build them.
ARTICLE_LINK_RE = re.compile(r"/help/([A-Za-z0-9_-]{1,80})/articles/([0-9]{1,18})(?![0-9])")
TITLE_CHARS = 200
MAX_REPLIES = 20  # agent replies gathered into one draft
MAX_ANSWER_CHARS = 20_000
_SPACE = re.compile(r"\s+")

# An agent reply that only asks the customer for something (an order number, an e-mail, a
# screenshot …) answers nothing: it is not learned from ("주문번호를 알려 주시면 확인해
# 드리겠습니다" was proposed as a draft article in the first hour). A sentence asks for
# information when it names a detail and asks for it; the reply "only asks" when every other
# sentence is a pleasantry (a greeting, an introduction, thanks, "I'll check").
_DETAIL = re.compile(
    r"주문\s*번호|이메일|메일\s*주소|전화\s*번호|연락처|휴대\s*폰|핸드폰|스크린\s*샷|캡[처쳐]|사진|성함|"
    r"아이디|계정|송장|운송장|영수증|결제\s*내역|상품명|주소|"
    r"\border\s*(?:number|no\b|id\b|#)|\be-?mail|\bphone|\bscreen\s*shot|\bphoto|\bpicture|\baccount|"
    r"\busername|\buser\s*name|\breceipt|\btracking\s*number|\byour\s*(?:full\s*)?name|\baddress",
    re.IGNORECASE,
)
_ASKS = re.compile(
    r"(?:알려|보내|말씀해|남겨|적어|첨부해|공유해|전달해)\s*주|어떻게\s*되(?:시|나|세)|"
    r"\b(?:could|can|would|will)\s+you\s+(?:please\s+)?(?:send|share|provide|tell|give|attach|confirm|reply|"
    r"forward|let)|\bplease\s+(?:send|share|provide|tell|give|attach|confirm|reply|forward|let\s+(?:me|us))|"
    r"\blet\s+(?:me|us)\s+know|\bwhat(?:'s|\s+is|\s+was)\s+your|\bmay\s+i\s+(?:have|ask|get)|"
    r"\bcan\s+i\s+(?:have|get)|\bsend\s+(?:me|us|over)",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    r"^(?:네|넵|예|안녕하세요|감사합니다|고맙습니다|죄송합니다|문의(?:해)?\s*주셔서|기다려\s*주셔서|"
    r"불편을\s*드려|잠시만|확인해\s*(?:보겠|드리겠)|.{0,20}상담원.{0,12}입니다|"
    r"hi\b|hello\b|hey\b|thanks?\b|thank\s+you|sorry\b|sure\b|ok(?:ay)?\b|"
    r"(?:my\s+name\s+is|this\s+is|i'?m)\s.{0,40}$|happy\s+to\s+help|let\s+me\s+check|i'?ll\s+(?:check|look))",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?。？！])\s+|\n+")


def asks_only_for_information(text: str) -> bool:
    """Whether an agent's reply only asks the customer for a detail (Korean or English)."""
    sentences = [s.strip(" ,.!?。？！~") for s in _SENTENCE.split(text or "")]
    sentences = [s for s in sentences if s]
    asks = [s for s in sentences if _DETAIL.search(s) and _ASKS.search(s)]
    return bool(asks) and all(s in asks or _PLEASANTRY.match(s) for s in sentences)


ALTERNATE_QUESTION = "alternate_question"
DRAFT_ARTICLE = "draft_article"


def _squash(text: str | None) -> str:
    return _SPACE.sub(" ", (text or "").strip())


def _title(question: str) -> str:
    question = _squash(question)
    return question if len(question) <= TITLE_CHARS else question[: TITLE_CHARS - 1].rstrip() + "…"


def _handed_off(state: BotConversation) -> bool:
    return state.state == BotState.handed_off or state.outcome == BotOutcome.handed_off


async def _linked_article(session: AsyncSession, message: Message):
    """The first article of this workspace the message links to, if any."""
    workspace = await accounts.get_workspace(session, workspace_id=message.workspace_id)
    for slug, raw_id in ARTICLE_LINK_RE.findall(message.content):
        if slug != workspace.slug:
            continue
        try:
            return await knowledge.get_article(
                session, workspace_id=message.workspace_id, article_id=int(raw_id)
            )
        except NotFound:
            continue
    return None


def _already_asked(article, question: str) -> bool:
    wanted = question.lower()
    known = [article.title, *(q.text for q in article.alternate_questions)]
    return any(_squash(k).lower() == wanted for k in known)


async def _replies(session: AsyncSession, message: Message) -> str:
    """The agent replies since the bot last spoke, up to this one: the draft's body."""
    since = await session.scalar(
        select(func.coalesce(func.max(Message.seq), 0)).where(
            Message.conversation_id == message.conversation_id,
            Message.sender_type == SenderType.bot,
            Message.seq < message.seq,
        )
    )
    rows = await session.scalars(
        select(Message.content)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.sender_type == SenderType.agent,
            Message.kind == MessageKind.text,
            Message.seq > since,
            Message.seq <= message.seq,
        )
        .order_by(Message.seq.desc())
        .limit(MAX_REPLIES)
    )
    parts = [p.strip() for p in reversed(list(rows)) if p.strip() and not asks_only_for_information(p)]
    return "\n\n".join(parts)[:MAX_ANSWER_CHARS]


async def learn_from_agent_reply(session: AsyncSession, *, message_id: int) -> str:
    """Propose what an agent's public reply to a handed-off question teaches; returns what it did.

    At most one proposal per conversation (the bot hands off once): a later reply
    with an article link turns a still-pending draft proposal into an
    alternate-question one, and later plain replies extend a pending draft. Safe to
    run twice for the same message.
    """
    message = await session.get(Message, message_id)
    if message is None or message.sender_type != SenderType.agent or message.kind != MessageKind.text:
        return "ignored"
    # The bot's row lock serialises this with concurrent runs for the same conversation.
    state = await session.scalar(
        select(BotConversation)
        .where(
            BotConversation.workspace_id == message.workspace_id,
            BotConversation.conversation_id == message.conversation_id,
        )
        .with_for_update()
    )
    if state is None or not _handed_off(state):
        return "not_handed_off"
    question = _squash(state.last_question)
    if not question:
        return "no_question"
    existing = await session.scalar(
        select(BotLearningProposal)
        .where(BotLearningProposal.conversation_id == message.conversation_id)
        .with_for_update()
    )
    open_draft = existing is not None and existing.kind == DRAFT_ARTICLE and existing.status == "pending"
    article = await _linked_article(session, message)
    if article is not None:
        if existing is not None and not open_draft:
            return "exists"
        if _already_asked(article, question):
            return "already_known"
        if existing is not None:  # the agent found the article after all: a better proposal
            existing.kind = ALTERNATE_QUESTION
            existing.article_id = article.id
            existing.answer = message.content
            existing.agent_message_id = message.id
            existing.agent_id = message.sender_id
            await session.flush()
            return "proposed_question"
        created = await _insert(
            session, state, message, kind=ALTERNATE_QUESTION, article_id=article.id, answer=message.content
        )
        return "proposed_question" if created else "exists"
    if asks_only_for_information(message.content):
        return "asked_for_information"  # a question back to the customer teaches nothing
    if existing is not None:
        if open_draft and existing.agent_message_id != message.id:
            previous = await session.scalar(
                select(Message.seq).where(Message.id == existing.agent_message_id)
            )
            if previous is None or previous < message.seq:
                existing.answer = await _replies(session, message)
                existing.agent_message_id = message.id
                await session.flush()
                return "updated_draft"
        return "exists"
    created = await _insert(
        session, state, message, kind=DRAFT_ARTICLE, article_id=None, answer=await _replies(session, message)
    )
    return "proposed_draft" if created else "exists"


async def _insert(
    session: AsyncSession,
    state: BotConversation,
    message: Message,
    *,
    kind: str,
    article_id: int | None,
    answer: str,
) -> bool:
    stmt = (
        insert(BotLearningProposal)
        .values(
            workspace_id=message.workspace_id,
            conversation_id=message.conversation_id,
            agent_message_id=message.id,
            agent_id=message.sender_id,
            kind=kind,
            article_id=article_id,
            question=_squash(state.last_question)[:2000],
            answer=answer,
            language=state.language if state.language in ("ko", "en") else "ko",
            status="pending",
        )
        .on_conflict_do_nothing(index_elements=["conversation_id"])
        .returning(BotLearningProposal.id)
    )
    return (await session.execute(stmt)).first() is not None


# -- the review queue -------------------------------------------------------------------
async def list_proposals(
    session: AsyncSession,
    *,
    workspace_id: int,
    status: str | None = "pending",
    before_id: int | None = None,
    limit: int = 100,
) -> list[BotLearningProposal]:
    """Proposals newest first (keyset by id), optionally of one status."""
    stmt = select(BotLearningProposal).where(BotLearningProposal.workspace_id == workspace_id)
    if status:
        stmt = stmt.where(BotLearningProposal.status == status)
    if before_id is not None:
        stmt = stmt.where(BotLearningProposal.id < before_id)
    rows = await session.scalars(stmt.order_by(BotLearningProposal.id.desc()).limit(limit))
    return list(rows.all())


async def pending_count(session: AsyncSession, *, workspace_id: int) -> int:
    return await session.scalar(
        select(func.count()).where(
            BotLearningProposal.workspace_id == workspace_id, BotLearningProposal.status == "pending"
        )
    )


async def get_proposal(
    session: AsyncSession, *, workspace_id: int, proposal_id: int, for_update: bool = False
) -> BotLearningProposal:
    """A proposal of this workspace; 404 for another workspace's id."""
    stmt = select(BotLearningProposal).where(
        BotLearningProposal.workspace_id == workspace_id, BotLearningProposal.id == proposal_id
    )
    proposal = await session.scalar(stmt.with_for_update() if for_update else stmt)
    if proposal is None:
        raise NotFound("proposal not found", code="proposal_not_found")
    return proposal


async def decide(
    session: AsyncSession, *, workspace_id: int, proposal_id: int, accept: bool, decided_by: int
) -> BotLearningProposal:
    """Accept (apply it to the knowledge base) or reject a pending proposal; 409 if already decided.

    Accepting an alternate question adds it to the linked article; accepting a draft
    creates an unpublished article authored by the agent who answered, for the
    supervisor to polish and publish in the editor.
    """
    proposal = await get_proposal(
        session, workspace_id=workspace_id, proposal_id=proposal_id, for_update=True
    )
    if proposal.status != "pending":
        raise Conflict(
            "this proposal has already been decided",
            code="proposal_decided",
            details={"status": proposal.status},
        )
    if accept and proposal.kind == ALTERNATE_QUESTION:
        if proposal.article_id is None:
            raise Conflict("the linked article no longer exists", code="article_missing")
        try:
            await knowledge.add_alternate_question(
                session,
                workspace_id=workspace_id,
                article_id=proposal.article_id,
                text=proposal.question,
                author_id=decided_by,
            )
        except NotFound as exc:
            raise Conflict("the linked article no longer exists", code="article_missing") from exc
    elif accept:
        article = await knowledge.create_article(
            session,
            workspace_id=workspace_id,
            title=_title(proposal.question),
            body=proposal.answer,
            locale=proposal.language,
            status="draft",
            author_id=proposal.agent_id,
        )
        proposal.article_id = article.id
    proposal.status = "accepted" if accept else "rejected"
    proposal.decided_by = decided_by
    proposal.decided_at = datetime.now(UTC)
    await session.flush()
    return proposal
