"""Executing runs: a run's steps up to its next wait, hold (quiet hours, business hours) or end,
the daily cap on automated messages, and a failed try's retry. The matching of events and
contacts' state to runs is in `engine`.

A run is executed under its row lock (SKIP LOCKED), one run per transaction, so its step, the
step's effect and its progress commit together.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.automations import actions
from sodam.automations.engine import KST, hours_of, settings_for
from sodam.automations.models import Rule, Run, RunStep, Settings
from sodam.automations.rules import MESSAGE_STEPS, wait_seconds
from sodam.contacts.models import Contact
from sodam.conversations.models import Conversation
from sodam.core.errors import AppError
from sodam.hours import calendar

MAX_ATTEMPTS = 5


def quiet_until(settings: Settings, now: datetime) -> datetime | None:
    """The end of the quiet hours when `now` is inside them (local time of the workspace)."""
    tz = ZoneInfo(settings.timezone or KST)
    local = now.astimezone(tz)
    start, end = int(settings.quiet_start), int(settings.quiet_end)
    if start == end:
        return None
    h = local.hour
    inside = (h >= start or h < end) if start > end else (start <= h < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if (start > end and h >= start) else local.date()
    return datetime.combine(day, time(end), tzinfo=tz)


def day_start(settings: Settings, now: datetime) -> datetime:
    tz = ZoneInfo(settings.timezone or KST)
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)


async def messages_today(session: AsyncSession, *, settings: Settings, contact_id: int, now: datetime) -> int:
    """Automated messages sent to the contact on the workspace's calendar day of `now`."""
    start = day_start(settings, now)
    return int(
        await session.scalar(
            select(func.count())
            .select_from(RunStep)
            .where(
                RunStep.contact_id == contact_id,
                RunStep.action.in_(MESSAGE_STEPS),
                RunStep.outcome == "done",
                RunStep.created_at >= start,
                RunStep.created_at < start + timedelta(days=1),
            )
        )
    )


def _log(
    session: AsyncSession, run: Run, *, action: str, outcome: str, now: datetime, detail: dict | None = None
):
    session.add(
        RunStep(
            workspace_id=run.workspace_id,
            run_id=run.id,
            rule_id=run.rule_id,
            contact_id=run.contact_id,
            step=run.step,
            action=action,
            outcome=outcome,
            detail=detail or {},
            created_at=now,
        )
    )


async def _hold(
    session: AsyncSession, run: Run, rule: Rule, settings: Settings, now: datetime
) -> tuple[datetime, str] | None:
    if rule.marketing and (until := quiet_until(settings, now)) is not None:
        return until, "quiet_hours"
    if rule.business_hours:
        inbox_id = None
        if run.conversation_id is not None:
            inbox_id = await session.scalar(
                select(Conversation.inbox_id).where(Conversation.id == run.conversation_id)
            )
        config = (await hours_of(session, run.workspace_id)).config(inbox_id)
        if not calendar.is_open(config, now):
            opening = calendar.next_opening(config, now)
            if opening is not None:
                return opening, "business_hours"
    return None


async def execute(session: AsyncSession, run: Run, *, now: datetime) -> None:
    """Take a run as far as it goes now: its actions up to the next wait (or hold), or its end."""
    rule = await session.get(Rule, run.rule_id)
    if rule is None or not rule.enabled:
        run.status, run.finished_at = "cancelled", now
        _log(session, run, action="rule", outcome="cancelled", now=now)
        return
    settings = await settings_for(session, workspace_id=run.workspace_id)
    contact = await session.get(Contact, run.contact_id)
    if contact is None:
        run.status, run.finished_at = "cancelled", now
        return
    steps = list(rule.steps or [])
    while run.step < len(steps):
        step = steps[run.step]
        kind = step["type"]
        if kind == "wait":
            until = now + timedelta(seconds=wait_seconds(step))
            _log(session, run, action="wait", outcome="waiting", now=now, detail={"until": until.isoformat()})
            run.step += 1
            run.next_at = until
            return
        if kind in MESSAGE_STEPS:
            hold = await _hold(session, run, rule, settings, now)
            if hold is not None:
                _log(
                    session,
                    run,
                    action=kind,
                    outcome="held",
                    now=now,
                    detail={"until": hold[0].isoformat(), "reason": hold[1]},
                )
                run.next_at = hold[0]
                return
            # One contact's count at a time, whichever worker sends.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended('automation-cap:' || :c, 0))"),
                {"c": str(run.contact_id)},
            )
            sent = await messages_today(session, settings=settings, contact_id=run.contact_id, now=now)
            if sent >= settings.daily_cap:
                _log(
                    session,
                    run,
                    action=kind,
                    outcome="skipped_cap",
                    now=now,
                    detail={"cap": settings.daily_cap, "sent": sent},
                )
                run.step += 1
                continue
        try:
            async with session.begin_nested():
                detail = await actions.ACTIONS[kind](
                    session, run=run, step=step, step_no=run.step, contact=contact
                )
            _log(session, run, action=kind, outcome="done", now=now, detail=detail)
            if kind in ("message", "email") and run.conversation_id is None and detail.get("conversation_id"):
                # The journey goes on in the conversation it started.
                run.conversation_id = detail["conversation_id"]
        except AppError as exc:
            _log(
                session,
                run,
                action=kind,
                outcome="failed",
                now=now,
                detail={"code": exc.code, "message": exc.message},
            )
        run.step += 1
    run.status, run.finished_at = "done", now


async def claim_one(session: AsyncSession, *, now: datetime, workspace_id: int | None = None) -> Run | None:
    """The next due run, locked for this transaction (SKIP LOCKED: another worker's is not ours)."""
    stmt = (
        select(Run)
        .where(Run.status == "waiting", Run.next_at <= now)
        .order_by(Run.next_at, Run.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if workspace_id is not None:
        stmt = stmt.where(Run.workspace_id == workspace_id)
    return await session.scalar(stmt)


async def failed(session: AsyncSession, *, run_id: int, error: str, now: datetime) -> None:
    """Count a failed try (an unexpected error): again a minute later, failed after MAX_ATTEMPTS."""
    run = await session.get(Run, run_id, with_for_update=True)
    if run is None or run.status != "waiting":
        return
    run.attempts += 1
    run.error = error[:500]
    if run.attempts >= MAX_ATTEMPTS:
        run.status, run.finished_at = "failed", now
    else:
        run.next_at = now + timedelta(minutes=run.attempts)


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
