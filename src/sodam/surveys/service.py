"""Surveys to customers: create and change them, invite a contact (after a resolved
conversation, by link, on a schedule), take an answer (one per recipient), summarise.

Services never commit: callers own the transaction.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts import service as contacts
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, MessageKind, SenderType, Status
from sodam.core.errors import AppError, Invalid, NotFound
from sodam.jobs import reactions
from sodam.surveys import questions as Q
from sodam.surveys.models import AUDIENCES, KINDS, Survey, SurveyAnswer, SurveyRecipient, SurveySend

MAX_RECIPIENTS = 1000  # contacts per scheduled send (a list or a segment)
EDITABLE = (
    "name",
    "questions",
    "on_resolve_inbox_ids",
    "escalate_at",
    "escalate",
    "expires_after_hours",
    "is_active",
)


class Expired(AppError):
    """The survey link's time is over (410 survey_expired)."""

    status_code = 410
    code = "survey_expired"


def _now() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    """An unguessable link token (256 bits)."""
    return secrets.token_urlsafe(32)


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    kind: str,
    audience: str = "customers",
    questions: list[dict[str, Any]] | None = None,
    on_resolve_inbox_ids: list[int] | None = None,
    escalate_at: int | None = None,
    escalate: bool = True,
    expires_after_hours: int = 168,
    is_active: bool = True,
) -> Survey:
    """Create a survey (CSAT / NPS / CES get their default questions when none are given)."""
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", code="invalid_kind")
    if audience not in AUDIENCES:
        raise Invalid("audience must be customers or agents", code="invalid_audience")
    survey = Survey(
        workspace_id=workspace_id,
        name=name.strip()[:200] or kind.upper(),
        kind=kind,
        audience=audience,
        questions=Q.clean_questions(kind, questions),
        on_resolve_inbox_ids=await _own_inboxes(session, workspace_id, on_resolve_inbox_ids or []),
        escalate_at=escalate_at,
        escalate=escalate,
        expires_after_hours=expires_after_hours,
        is_active=is_active,
    )
    session.add(survey)
    await session.flush()
    return survey


async def _own_inboxes(session: AsyncSession, workspace_id: int, inbox_ids: list[int]) -> list[int]:
    from sodam.channels.models import Inbox

    wanted = sorted(set(inbox_ids))
    if not wanted:
        return []
    found = set(
        await session.scalars(
            select(Inbox.id).where(Inbox.workspace_id == workspace_id, Inbox.id.in_(wanted))
        )
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(
            "inbox not found", code="not_found", details={"field": "on_resolve_inbox_ids", "ids": missing}
        )
    return wanted


async def get(
    session: AsyncSession, *, workspace_id: int, survey_id: int, audience: str | None = None
) -> Survey:
    """A survey of this workspace (404 otherwise)."""
    stmt = select(Survey).where(Survey.workspace_id == workspace_id, Survey.id == survey_id)
    if audience is not None:
        stmt = stmt.where(Survey.audience == audience)
    survey = await session.scalar(stmt)
    if survey is None:
        raise NotFound("survey not found")
    return survey


async def list_(
    session: AsyncSession,
    *,
    workspace_id: int,
    audience: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[Survey]:
    """Surveys in id order (one keyset page)."""
    stmt = select(Survey).where(Survey.workspace_id == workspace_id)
    if audience is not None:
        stmt = stmt.where(Survey.audience == audience)
    if after_id is not None:
        stmt = stmt.where(Survey.id > after_id)
    return list(await session.scalars(stmt.order_by(Survey.id).limit(limit)))


async def update(session: AsyncSession, *, workspace_id: int, survey_id: int, **changes: Any) -> Survey:
    """Change a survey's name, questions, rules, threshold, expiry or active flag."""
    survey = await get(session, workspace_id=workspace_id, survey_id=survey_id)
    for key, value in changes.items():
        if key not in EDITABLE or (
            value is None and key in ("name", "escalate", "expires_after_hours", "is_active")
        ):
            continue  # null for a field that must have a value: left as it is (escalate_at null = the default)
        if key == "questions":
            value = Q.clean_questions(survey.kind, value)
        elif key == "on_resolve_inbox_ids":
            value = await _own_inboxes(session, workspace_id, value or [])
        elif key == "name":
            value = (value or "").strip()[:200] or survey.name
        setattr(survey, key, value)
    survey.updated_at = _now()
    await session.flush()
    return survey


async def delete(session: AsyncSession, *, workspace_id: int, survey_id: int) -> None:
    """Delete a survey with its recipients and answers."""
    survey = await get(session, workspace_id=workspace_id, survey_id=survey_id)
    await session.delete(survey)
    await session.flush()


# ---- invitations ----------------------------------------------------------------------------


def _language(contact_language: str | None, conversation_language: str | None = None) -> str:
    lang = (contact_language or conversation_language or "ko").lower()[:2]
    return "en" if lang == "en" else "ko"


async def invite(
    session: AsyncSession,
    *,
    survey: Survey,
    contact_id: int,
    conversation_id: int | None = None,
    channel: str = "link",
    send_at: datetime | None = None,
    language: str | None = None,
) -> tuple[SurveyRecipient, bool]:
    """Ask one contact a survey in their language (else the conversation's); returns
    (recipient, created). A conversation is asked once."""
    if survey.audience != "customers":
        raise Invalid("an internal survey is answered in the console", code="invalid_audience")
    contact = await contacts.get(session, workspace_id=survey.workspace_id, contact_id=contact_id)
    now = _now()
    start = send_at or now
    values = {
        "workspace_id": survey.workspace_id,
        "survey_id": survey.id,
        "contact_id": contact.id,
        "conversation_id": conversation_id,
        "token": new_token(),
        "channel": channel,
        "language": _language(contact.language, language),
        "send_at": start,
        "sent_at": now if start <= now else None,
        "expires_at": start + timedelta(hours=survey.expires_after_hours),
    }
    stmt = pg_insert(SurveyRecipient).values(**values)
    if conversation_id is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["survey_id", "conversation_id"],
            index_where=SurveyRecipient.conversation_id.isnot(None),
        )
    new_id = await session.scalar(stmt.returning(SurveyRecipient.id))
    if new_id is None:
        existing = await session.scalar(
            select(SurveyRecipient).where(
                SurveyRecipient.survey_id == survey.id, SurveyRecipient.conversation_id == conversation_id
            )
        )
        return existing, False
    return await session.get(SurveyRecipient, new_id), True


async def invite_many(
    session: AsyncSession, *, survey: Survey, contact_ids: list[int], send_at: datetime | None = None
) -> list[SurveyRecipient]:
    """A scheduled send to a list of contacts; each gets its own link."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids or len(ids) > MAX_RECIPIENTS:
        raise Invalid(f"1 to {MAX_RECIPIENTS} contact ids", code="invalid_recipients")
    found = set(
        await session.scalars(
            select(Contact.id).where(Contact.workspace_id == survey.workspace_id, Contact.id.in_(ids))
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound("contact not found", details={"field": "contact_ids", "ids": missing[:20]})
    out = []
    for contact_id in ids:
        recipient, _ = await invite(
            session, survey=survey, contact_id=contact_id, channel="schedule", send_at=send_at
        )
        out.append(recipient)
    return out


async def invite_segment(
    session: AsyncSession,
    *,
    survey: Survey,
    segment_id: int,
    send_at: datetime | None = None,
    created_by: int | None = None,
) -> list[SurveyRecipient] | SurveySend:
    """A send to a segment's contacts as they are now: up to MAX_RECIPIENTS invited at once
    (the list), a larger segment by a job in batches (the send, to follow its progress)."""
    from sodam.segments import service as segments
    from sodam.surveys import sends

    ids = await segments.segment_contact_ids(
        session, workspace_id=survey.workspace_id, segment_id=segment_id, limit=MAX_RECIPIENTS + 1
    )
    if not ids:
        raise Invalid("the segment has no contacts", code="segment_empty", details={"field": "segment_id"})
    if len(ids) > MAX_RECIPIENTS:
        segment = await segments.get(session, workspace_id=survey.workspace_id, segment_id=segment_id)
        total = await segments.count(session, workspace_id=survey.workspace_id, filter=segment.filter)
        return await sends.start(
            session, survey=survey, segment_id=segment_id, send_at=send_at, created_by=created_by, total=total
        )
    return await invite_many(session, survey=survey, contact_ids=ids, send_at=send_at)


async def surveys_on_resolve(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> list[Survey]:
    """The active customer surveys this inbox sends when a conversation is resolved."""
    return list(
        await session.scalars(
            select(Survey)
            .where(
                Survey.workspace_id == workspace_id,
                Survey.audience == "customers",
                Survey.is_active.is_(True),
                Survey.on_resolve_inbox_ids.any(inbox_id),
            )
            .order_by(Survey.id)
        )
    )


async def invite_after_resolution(session: AsyncSession, *, conversation_id: int) -> list[SurveyRecipient]:
    """A conversation was resolved: ask its contact the inbox's surveys, as a card in the
    conversation (the widget shows it) that carries the link's token. Idempotent."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != Status.resolved:
        return []
    sent = []
    for survey in await surveys_on_resolve(
        session, workspace_id=conversation.workspace_id, inbox_id=conversation.inbox_id
    ):
        recipient, created = await invite(
            session,
            survey=survey,
            contact_id=conversation.contact_id,
            conversation_id=conversation.id,
            channel="widget",
            language=conversation.language,
        )
        if not created:
            continue
        first = Q.localised(survey.questions[0], recipient.language)
        await conversations.create_message(
            session,
            conversation=conversation,
            content=first["text"],
            sender_type=SenderType.system,
            sender_id=None,
            kind=MessageKind.system,
            payload={"survey": {"token": recipient.token, "kind": survey.kind, "question": first}},
        )
        sent.append(recipient)
    return sent


async def send_due(session: AsyncSession, *, limit: int = 50_000) -> int:
    """Scheduled invitations whose time has come are marked sent (every workspace: the
    periodic job), up to `limit` in one statement; returns how many."""
    due = (
        select(SurveyRecipient.id)
        .where(SurveyRecipient.sent_at.is_(None), SurveyRecipient.send_at <= _now())
        .order_by(SurveyRecipient.send_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        sql_update(SurveyRecipient).where(SurveyRecipient.id.in_(due)).values(sent_at=_now())
    )
    return max(result.rowcount or 0, 0)


# ---- answers --------------------------------------------------------------------------------


async def recipient_by_token(session: AsyncSession, *, token: str) -> tuple[SurveyRecipient, Survey]:
    """The invitation a link token names, with its survey (404 for an unknown one)."""
    if not token or len(token) > 64:
        raise NotFound("survey not found")
    row = (
        await session.execute(
            select(SurveyRecipient, Survey)
            .join(Survey, Survey.id == SurveyRecipient.survey_id)
            .where(SurveyRecipient.token == token, SurveyRecipient.sent_at.isnot(None))
        )
    ).first()
    if row is None:
        raise NotFound("survey not found")
    return row[0], row[1]


def check_open(recipient: SurveyRecipient, survey: Survey) -> None:
    """410 survey_expired once the link's time is over (or the survey was switched off)."""
    if recipient.expires_at <= _now() or not survey.is_active:
        raise Expired("this survey has expired", details={"expired_at": recipient.expires_at.isoformat()})


async def answer_of(session: AsyncSession, *, recipient_id: int) -> SurveyAnswer | None:
    return await session.scalar(select(SurveyAnswer).where(SurveyAnswer.recipient_id == recipient_id))


async def submit(
    session: AsyncSession, *, recipient: SurveyRecipient, survey: Survey, answers: dict[str, Any]
) -> tuple[SurveyAnswer, bool]:
    """Store a recipient's answer; a second submit updates it (one row per recipient, by a
    unique constraint). Returns (answer, created); defers the escalation check."""
    check_open(recipient, survey)
    cleaned = Q.clean_answers(survey.questions, answers)
    values = {
        "workspace_id": recipient.workspace_id,
        "survey_id": survey.id,
        "recipient_id": recipient.id,
        "contact_id": recipient.contact_id,
        "conversation_id": recipient.conversation_id,
        "kind": survey.kind,
        "score": Q.headline_score(survey.kind, cleaned, survey.questions),
        "answers": cleaned,
        "comment": Q.comment_of(cleaned, survey.questions),
        "comment_sentiment": None,
    }
    stmt = pg_insert(SurveyAnswer).values(**values)
    stmt = stmt.on_conflict_do_update(
        constraint="uq_survey_answers_recipient",
        set_={
            "score": stmt.excluded.score,
            "answers": stmt.excluded.answers,
            "comment": stmt.excluded.comment,
            "comment_sentiment": None,
            "updated_at": func.now(),
        },
    )
    row = (
        await session.execute(
            # xmax is 0 on a row this statement inserted (not on one it updated).
            stmt.returning(SurveyAnswer.id, literal_column("(xmax = 0)").label("inserted"))
        )
    ).one()
    answer = await session.get(SurveyAnswer, row.id, populate_existing=True)
    await reactions.emit(
        session,
        "survey.answered",
        {
            "workspace_id": recipient.workspace_id,
            "answer_id": answer.id,
            "kind": survey.kind,
            "score": answer.score,
            "has_comment": bool(answer.comment),
            "escalate": survey.escalate,
            "escalate_at": survey.escalate_at,
        },
    )
    return answer, bool(row.inserted)


async def answers(
    session: AsyncSession, *, workspace_id: int, survey_id: int, after_id: int | None = None, limit: int = 50
) -> list[SurveyAnswer]:
    """A survey's answers, newest first (one keyset page)."""
    stmt = select(SurveyAnswer).where(
        SurveyAnswer.workspace_id == workspace_id, SurveyAnswer.survey_id == survey_id
    )
    if after_id is not None:
        stmt = stmt.where(SurveyAnswer.id < after_id)
    return list(await session.scalars(stmt.order_by(SurveyAnswer.id.desc()).limit(limit)))
