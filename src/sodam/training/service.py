"""Training sandbox: scenarios built from resolved conversations (anonymised on the way in),
attempts played against the scenario's schedule, scoring, reviews and badges.

Practice lives in its own tables: nothing here writes a message, an event or anything a
channel sends. The leaderboard reads are in board.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Message, MessageKind, SenderType, Status
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.nlp.anonymise import anonymise
from sodam.nlp.text import has_hangul
from sodam.surveys.models import SurveyAnswer
from sodam.training import clock, scoring
from sodam.training.models import SPEEDS, TrainingAttempt, TrainingBadge, TrainingReply, TrainingScenario

MAX_MESSAGES = 200
MAX_REPLY_CHARS = 5000
MAX_REPLIES = 200
MAX_COMMENT_CHARS = 2000
TITLE_CHARS = 80
_ROLES = {SenderType.contact: "customer", SenderType.agent: "agent", SenderType.bot: "bot"}


def _ms(later: datetime, earlier: datetime) -> int:
    return max(int((later - earlier).total_seconds() * 1000), 0)


# -- scenarios -------------------------------------------------------------------------------
async def create_scenario(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, created_by: int | None
) -> TrainingScenario:
    """An anonymised copy of a resolved conversation (its customer, agent and bot messages; no
    notes), with the original's first-reply time, linked articles and CSAT."""
    conv = await conversations.get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    if conv.status != Status.resolved:
        raise Invalid("only a resolved conversation can become a scenario", code="not_resolved")
    if conv.redacted_at is not None:
        raise Invalid("this conversation's messages were erased", code="conversation_redacted")
    taken = await session.scalar(
        select(TrainingScenario.id).where(TrainingScenario.source_conversation_id == conv.id)
    )
    if taken is not None:
        raise Conflict(
            "this conversation is a scenario already", code="scenario_exists", details={"scenario_id": taken}
        )
    rows = (
        await session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conv.id,
                Message.sender_type.in_(list(_ROLES)),
                Message.kind.in_([MessageKind.text, MessageKind.bot]),
            )
            .order_by(Message.seq)
            .limit(MAX_MESSAGES)
        )
    ).all()
    rows = [m for m in rows if (m.content or "").strip()]
    first_customer = next((m for m in rows if m.sender_type == SenderType.contact), None)
    if first_customer is None:
        raise Invalid("the conversation has no customer message to replay", code="no_customer_messages")
    rows = rows[rows.index(first_customer) :]
    start = first_customer.created_at
    first_agent = next((m for m in rows if m.sender_type == SenderType.agent), None)
    workspace = await accounts.get_workspace(session, workspace_id=workspace_id)
    agent_texts = [m.content for m in rows if m.sender_type == SenderType.agent]
    article_ids = scoring.linked_articles(agent_texts, workspace.slug)
    contact = await contacts.get(session, workspace_id=workspace_id, contact_id=conv.contact_id)
    agent_names = [a.name for a in await accounts.list_agents(session, workspace_id=workspace_id)]
    csat = await session.scalar(
        select(SurveyAnswer.score)
        .where(
            SurveyAnswer.workspace_id == workspace_id,
            SurveyAnswer.conversation_id == conv.id,
            SurveyAnswer.kind == "csat",
        )
        .order_by(SurveyAnswer.id.desc())
        .limit(1)
    )
    texts = [m.content for m in rows]
    contact_name = (contact.name or "").strip()
    # Regexes over up to 200 messages: off the event loop.
    anonymised, anonymiser = await asyncio.to_thread(anonymise, texts, names=[contact_name, *agent_names])
    stand_in = anonymiser.text(contact_name) if contact_name else ""
    language = conv.language or ("ko" if has_hangul(" ".join(texts[:5])) else "en")
    messages = [
        {"role": _ROLES[m.sender_type], "text": text, "at_ms": _ms(m.created_at, start)}
        for m, text in zip(rows, anonymised, strict=True)
    ]
    title = " ".join(anonymised[0].split())
    scenario = TrainingScenario(
        workspace_id=workspace_id,
        source_conversation_id=conv.id,
        title=title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…",
        language=language[:8],
        customer_name=(stand_in or ("고객" if language == "ko" else "Customer"))[:120],
        messages=messages,
        original_first_reply_ms=_ms(first_agent.created_at, start) if first_agent else None,
        original_article_ids=sorted(article_ids),
        original_csat=csat,
        created_by=created_by,
    )
    session.add(scenario)
    await session.flush()
    return scenario


async def list_scenarios(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 100
) -> list[TrainingScenario]:
    """Scenarios, newest first (keyset by id)."""
    stmt = select(TrainingScenario).where(TrainingScenario.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(TrainingScenario.id < after_id)
    return list((await session.scalars(stmt.order_by(TrainingScenario.id.desc()).limit(limit))).all())


async def get_scenario(session: AsyncSession, *, workspace_id: int, scenario_id: int) -> TrainingScenario:
    """A scenario of this workspace."""
    scenario = await session.scalar(
        select(TrainingScenario).where(
            TrainingScenario.workspace_id == workspace_id, TrainingScenario.id == scenario_id
        )
    )
    if scenario is None:
        raise NotFound("scenario not found")
    return scenario


async def delete_scenario(session: AsyncSession, *, workspace_id: int, scenario_id: int) -> None:
    """Delete a scenario with its attempts (badges stay)."""
    await session.delete(await get_scenario(session, workspace_id=workspace_id, scenario_id=scenario_id))
    await session.flush()


async def attempt_counts(
    session: AsyncSession, *, workspace_id: int, scenario_ids: list[int]
) -> dict[int, int]:
    """Finished attempts per scenario."""
    if not scenario_ids:
        return {}
    rows = await session.execute(
        select(TrainingAttempt.scenario_id, func.count())
        .where(
            TrainingAttempt.workspace_id == workspace_id,
            TrainingAttempt.scenario_id.in_(scenario_ids),
            TrainingAttempt.finished_at.is_not(None),
        )
        .group_by(TrainingAttempt.scenario_id)
    )
    return dict(rows.all())


# -- attempts --------------------------------------------------------------------------------
async def start_attempt(
    session: AsyncSession, *, workspace_id: int, scenario_id: int, agent_id: int, speed: int = 1
) -> TrainingAttempt:
    """A trainee starts playing a scenario now (×1, ×2 or ×4)."""
    if speed not in SPEEDS:
        raise Invalid("speed must be 1, 2 or 4", code="invalid_speed", details={"allowed": list(SPEEDS)})
    scenario = await get_scenario(session, workspace_id=workspace_id, scenario_id=scenario_id)
    attempt = TrainingAttempt(
        workspace_id=workspace_id,
        scenario_id=scenario.id,
        agent_id=agent_id,
        speed=speed,
        started_at=clock.now(),
    )
    session.add(attempt)
    await session.flush()
    return attempt


async def get_attempt(
    session: AsyncSession, *, workspace_id: int, attempt_id: int, agent_id: int, can_manage: bool
) -> TrainingAttempt:
    """An attempt the caller may see: their own, or any of the workspace's for a 매니저."""
    stmt = select(TrainingAttempt).where(
        TrainingAttempt.workspace_id == workspace_id, TrainingAttempt.id == attempt_id
    )
    if not can_manage:
        stmt = stmt.where(TrainingAttempt.agent_id == agent_id)
    attempt = await session.scalar(stmt)
    if attempt is None:
        raise NotFound("attempt not found")
    return attempt


async def replies_of(session: AsyncSession, *, attempt_id: int) -> list[TrainingReply]:
    """The trainee's replies in order."""
    return list(
        (
            await session.scalars(
                select(TrainingReply).where(TrainingReply.attempt_id == attempt_id).order_by(TrainingReply.id)
            )
        ).all()
    )


def playback(
    scenario: TrainingScenario, attempt: TrainingAttempt, replies: list[TrainingReply]
) -> dict[str, Any]:
    """What the trainee sees now: the customer messages due so far and their own replies, in
    time order, and when the next customer message is due (None when all are shown)."""
    end = attempt.finished_at or clock.now()
    elapsed = _ms(end, attempt.started_at)
    due = scoring.customer_schedule(scenario.messages, attempt.speed)
    items: list[dict[str, Any]] = []
    upcoming = [d for d in due if d > elapsed]
    for index, (message, at) in enumerate(zip(scenario.messages, due, strict=True)):
        if 0 <= at <= elapsed:
            items.append({"role": "customer", "text": message["text"], "at_ms": at, "index": index})
    items.extend({"role": "trainee", "text": r.content, "at_ms": r.at_ms, "id": r.id} for r in replies)
    items.sort(key=lambda i: (i["at_ms"], i["role"] != "customer"))
    customer_total = sum(1 for d in due if d >= 0)
    return {
        "elapsed_ms": elapsed,
        "items": items,
        "customer_shown": customer_total - len(upcoming),
        "customer_total": customer_total,
        "next_due_ms": None if attempt.finished_at or not upcoming else min(upcoming) - elapsed,
    }


async def add_reply(
    session: AsyncSession, *, workspace_id: int, attempt_id: int, agent_id: int, content: str
) -> TrainingReply:
    """The trainee replies (to nobody real); the first reply's time is kept for the score."""
    attempt = await get_attempt(
        session, workspace_id=workspace_id, attempt_id=attempt_id, agent_id=agent_id, can_manage=False
    )
    if attempt.finished_at is not None:
        raise Conflict("this practice is finished", code="attempt_finished")
    text = (content or "").strip()
    if not text:
        raise Invalid("the reply is empty", code="empty_reply")
    if len(text) > MAX_REPLY_CHARS:
        raise Invalid(
            f"the reply is {len(text)} characters; the limit is {MAX_REPLY_CHARS}",
            code="reply_too_long",
            details={"length": len(text), "max_chars": MAX_REPLY_CHARS},
        )
    count = await session.scalar(select(func.count()).where(TrainingReply.attempt_id == attempt.id))
    if count >= MAX_REPLIES:
        raise Conflict("too many replies in one practice", code="too_many_replies")
    now = clock.now()
    at = _ms(now, attempt.started_at)
    reply = TrainingReply(
        workspace_id=workspace_id, attempt_id=attempt.id, content=text, at_ms=at, created_at=now
    )
    session.add(reply)
    if attempt.first_reply_ms is None:
        attempt.first_reply_ms = at
    await session.flush()
    return reply


async def finish(
    session: AsyncSession, *, workspace_id: int, attempt_id: int, agent_id: int, resolved: bool
) -> tuple[TrainingAttempt, list[str]]:
    """End a practice (marked resolved or not): its score and parts, and the badges it earned."""
    attempt = await get_attempt(
        session, workspace_id=workspace_id, attempt_id=attempt_id, agent_id=agent_id, can_manage=False
    )
    if attempt.finished_at is not None:
        raise Conflict("this practice is finished", code="attempt_finished")
    scenario = await get_scenario(session, workspace_id=workspace_id, scenario_id=attempt.scenario_id)
    workspace = await accounts.get_workspace(session, workspace_id=workspace_id)
    replies = await replies_of(session, attempt_id=attempt.id)
    outcome = scoring.score(
        first_reply_ms=attempt.first_reply_ms,
        original_first_reply_ms=scenario.original_first_reply_ms,
        used_article_ids=scoring.linked_articles([r.content for r in replies], workspace.slug),
        original_article_ids=scenario.original_article_ids or [],
        resolved=resolved,
        original_csat=scenario.original_csat,
    )
    attempt.finished_at = clock.now()
    attempt.resolved = resolved
    attempt.score = outcome.score
    attempt.parts = outcome.parts
    await session.flush()
    finished, resolved_count = (
        await session.execute(
            select(func.count(), func.count().filter(TrainingAttempt.resolved)).where(
                TrainingAttempt.workspace_id == workspace_id,
                TrainingAttempt.agent_id == attempt.agent_id,
                TrainingAttempt.finished_at.is_not(None),
            )
        )
    ).one()
    held = set(await badges_of(session, workspace_id=workspace_id, agent_id=attempt.agent_id))
    earned = scoring.new_badges(
        held=held,
        finished_count=finished,
        resolved_count=resolved_count,
        first_reply_ms=attempt.first_reply_ms,
        original_first_reply_ms=scenario.original_first_reply_ms,
    )
    awarded = [b for b in earned if await _award(session, attempt=attempt, badge=b)]
    return attempt, awarded


async def review(
    session: AsyncSession, *, workspace_id: int, attempt_id: int, reviewer_id: int, comment: str, praise: bool
) -> TrainingAttempt:
    """A 매니저's comment on a finished attempt (the trainee sees it); praise earns a badge."""
    attempt = await get_attempt(
        session, workspace_id=workspace_id, attempt_id=attempt_id, agent_id=reviewer_id, can_manage=True
    )
    if attempt.finished_at is None:
        raise Conflict("the practice is not finished yet", code="attempt_not_finished")
    text = (comment or "").strip()
    if not text and not praise:
        raise Invalid("write a comment or give praise", code="empty_review")
    if len(text) > MAX_COMMENT_CHARS:
        raise Invalid(
            f"the comment is {len(text)} characters; the limit is {MAX_COMMENT_CHARS}",
            code="comment_too_long",
            details={"length": len(text), "max_chars": MAX_COMMENT_CHARS},
        )
    attempt.review_comment = text or None
    attempt.praised = bool(praise)
    attempt.reviewed_by = reviewer_id
    attempt.reviewed_at = clock.now()
    if praise:
        await _award(session, attempt=attempt, badge="praised")
    await session.flush()
    return attempt


async def list_attempts(
    session: AsyncSession,
    *,
    workspace_id: int,
    agent_id: int | None = None,
    scenario_id: int | None = None,
    finished: bool | None = None,
    reviewed: bool | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[TrainingAttempt]:
    """Attempts, newest first (keyset by id), filtered by trainee, scenario, state."""
    stmt = select(TrainingAttempt).where(TrainingAttempt.workspace_id == workspace_id)
    if agent_id is not None:
        stmt = stmt.where(TrainingAttempt.agent_id == agent_id)
    if scenario_id is not None:
        stmt = stmt.where(TrainingAttempt.scenario_id == scenario_id)
    if finished is not None:
        column = TrainingAttempt.finished_at
        stmt = stmt.where(column.is_not(None) if finished else column.is_(None))
    if reviewed is not None:
        column = TrainingAttempt.reviewed_at
        stmt = stmt.where(column.is_not(None) if reviewed else column.is_(None))
    if after_id is not None:
        stmt = stmt.where(TrainingAttempt.id < after_id)
    return list((await session.scalars(stmt.order_by(TrainingAttempt.id.desc()).limit(limit))).all())


# -- badges ----------------------------------------------------------------------------------
async def _award(session: AsyncSession, *, attempt: TrainingAttempt, badge: str) -> bool:
    """Give a badge once; whether it is new."""
    result = await session.execute(
        insert(TrainingBadge)
        .values(
            workspace_id=attempt.workspace_id,
            agent_id=attempt.agent_id,
            badge=badge,
            attempt_id=attempt.id,
            awarded_at=clock.now(),
        )
        .on_conflict_do_nothing(constraint="uq_training_badges_agent_badge")
        .returning(TrainingBadge.id)
    )
    return result.scalar() is not None


async def badges_of(session: AsyncSession, *, workspace_id: int, agent_id: int) -> list[str]:
    """The agent's badges, in the order earned."""
    rows = await session.scalars(
        select(TrainingBadge.badge)
        .where(TrainingBadge.workspace_id == workspace_id, TrainingBadge.agent_id == agent_id)
        .order_by(TrainingBadge.awarded_at, TrainingBadge.id)
    )
    return list(rows.all())
