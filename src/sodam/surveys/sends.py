"""A survey sent to a large segment: the request records a send and queues one durable job;
the job invites the segment's contacts in batches, in contact-id order.

Each batch is one transaction: lock the send, insert up to BATCH recipients past the last
contact invited (one INSERT … SELECT over the segment's compiled query, tokens from
PostgreSQL's strong random generator), move the cursor. A worker killed mid-batch rolls the
batch back and the job (put back in the queue by the stalled-worker recovery) starts again
from the cursor; the unique (send, contact) index makes a repeated batch ask nobody twice.

Services never commit, except `run`, which owns its batches' transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import String, case, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts.models import Contact
from sodam.core.errors import Invalid, NotFound
from sodam.db.session import session_scope
from sodam.jobs.app import defer_in_tx
from sodam.segments import service as segments
from sodam.surveys.models import Survey, SurveyRecipient, SurveySend

BATCH = 5000
TASK = "surveys.run_send"

# 256 random bits as 64 hex characters (gen_random_uuid draws from pg_strong_random; two
# v4 UUIDs carry 244 of them): as unguessable as secrets.token_urlsafe(32).
_TOKEN = func.replace(
    func.concat(cast(func.gen_random_uuid(), String), cast(func.gen_random_uuid(), String)), "-", ""
)


def _now() -> datetime:
    return datetime.now(UTC)


async def start(
    session: AsyncSession,
    *,
    survey: Survey,
    segment_id: int,
    send_at: datetime | None = None,
    created_by: int | None = None,
    total: int | None = None,
) -> SurveySend:
    """Record a send to a segment and queue its job in the caller's transaction."""
    if survey.audience != "customers":
        raise Invalid("an internal survey is answered in the console", code="invalid_audience")
    await segments.get(session, workspace_id=survey.workspace_id, segment_id=segment_id)
    send = SurveySend(
        workspace_id=survey.workspace_id,
        survey_id=survey.id,
        segment_id=segment_id,
        send_at=send_at or _now(),
        status="queued",
        total=total,
        created_by=created_by,
    )
    session.add(send)
    await session.flush()
    await defer_in_tx(session, TASK, {"send_id": send.id}, queue="default", lock=f"survey-send-{send.id}")
    return send


async def get(session: AsyncSession, *, workspace_id: int, survey_id: int, send_id: int) -> SurveySend:
    send = await session.scalar(
        select(SurveySend).where(
            SurveySend.id == send_id,
            SurveySend.workspace_id == workspace_id,
            SurveySend.survey_id == survey_id,
        )
    )
    if send is None:
        raise NotFound("send not found")
    return send


async def list_(
    session: AsyncSession, *, workspace_id: int, survey_id: int, limit: int = 50
) -> list[SurveySend]:
    """A survey's segment sends, newest first."""
    return list(
        await session.scalars(
            select(SurveySend)
            .where(SurveySend.workspace_id == workspace_id, SurveySend.survey_id == survey_id)
            .order_by(SurveySend.id.desc())
            .limit(limit)
        )
    )


async def recipients(
    session: AsyncSession,
    *,
    workspace_id: int,
    survey_id: int,
    send_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[SurveyRecipient]:
    """A survey's invitations in id order (a send's only, if named): where the links are read."""
    stmt = select(SurveyRecipient).where(
        SurveyRecipient.workspace_id == workspace_id, SurveyRecipient.survey_id == survey_id
    )
    if send_id is not None:
        stmt = stmt.where(SurveyRecipient.send_id == send_id)
    if after_id is not None:
        stmt = stmt.where(SurveyRecipient.id > after_id)
    return list(await session.scalars(stmt.order_by(SurveyRecipient.id).limit(limit)))


async def invite_contacts(
    session: AsyncSession, *, workspace_id: int, survey_id: int, languages: dict[int, str], channel: str
) -> dict[int, str]:
    """Invite these contacts (id → ko/en) at once, in the caller's transaction (one statement;
    a campaign's batch: the campaign's own unique recipients keep it once per contact);
    returns each contact's link token."""
    survey = await session.scalar(
        select(Survey).where(Survey.workspace_id == workspace_id, Survey.id == survey_id)
    )
    if survey is None or not languages:
        return {}
    now = _now()
    rows = await session.execute(
        text(
            """
            INSERT INTO survey_recipients (workspace_id, survey_id, contact_id, token, channel, language,
                                           send_at, sent_at, expires_at)
            SELECT :ws, :sid, u.contact, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
                   :channel, u.lang, :now, :now, :expires
              FROM unnest(CAST(:contacts AS bigint[]), CAST(:langs AS text[])) AS u(contact, lang)
            RETURNING contact_id, token
            """
        ),
        {
            "ws": workspace_id,
            "sid": survey.id,
            "channel": channel,
            "now": now,
            "expires": now + timedelta(hours=survey.expires_after_hours),
            "contacts": list(languages),
            "langs": ["en" if lang == "en" else "ko" for lang in languages.values()],
        },
    )
    return {int(contact): token for contact, token in rows.all()}


async def invite_batch(session: AsyncSession, *, send: SurveySend, survey: Survey, limit: int = BATCH) -> int:
    """Invite the next `limit` contacts of the segment past the cursor, in the caller's
    transaction; returns how many contacts the batch covered (fewer than `limit`: the end)."""
    segment = await segments.get(session, workspace_id=send.workspace_id, segment_id=send.segment_id)
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    ids = list(
        await session.scalars(
            segments.ids_query(workspace_id=send.workspace_id, filter=segment.filter)
            .where(Contact.id > send.last_contact_id)
            .order_by(Contact.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    start = send.send_at
    now = _now()
    language = case((func.lower(func.left(func.coalesce(Contact.language, ""), 2)) == "en", "en"), else_="ko")
    stmt = pg_insert(SurveyRecipient).from_select(
        [
            "workspace_id",
            "survey_id",
            "contact_id",
            "token",
            "channel",
            "language",
            "send_at",
            "sent_at",
            "expires_at",
            "send_id",
        ],
        select(
            literal(send.workspace_id),
            literal(survey.id),
            Contact.id,
            _TOKEN,
            literal("schedule"),
            language,
            literal(start),
            literal(now if start <= now else None),
            literal(start + timedelta(hours=survey.expires_after_hours)),
            literal(send.id),
        ).where(Contact.workspace_id == send.workspace_id, Contact.id.in_(ids)),
    )
    await session.execute(
        stmt.on_conflict_do_nothing(
            index_elements=["send_id", "contact_id"], index_where=SurveyRecipient.send_id.isnot(None)
        )
    )
    send.last_contact_id = ids[-1]
    send.invited = int(
        await session.scalar(
            select(func.count()).select_from(SurveyRecipient).where(SurveyRecipient.send_id == send.id)
        )
    )
    return len(ids)


async def run(send_id: int, *, batch: int = BATCH) -> int:
    """The job: invite the whole segment, a batch per transaction; returns the invited count."""
    while True:
        async with session_scope() as session:
            send = await session.scalar(select(SurveySend).where(SurveySend.id == send_id).with_for_update())
            if send is None or send.status in ("done", "failed"):
                return send.invited if send else 0
            survey = await session.get(Survey, send.survey_id)
            if send.segment_id is None or survey is None:
                send.status, send.error, send.finished_at = "failed", "segment_deleted", _now()
                await session.commit()
                return send.invited
            if send.status == "queued":
                send.status = "sending"
            covered = await invite_batch(session, send=send, survey=survey, limit=batch)
            if covered < batch:
                send.status, send.finished_at = "done", _now()
                send.total = send.invited
            invited, done = send.invited, send.status == "done"
            await session.commit()
        if done:
            return invited
