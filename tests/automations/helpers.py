"""Shared pieces of the automations tests: a frozen clock in the future (so the test servers'
own real-time jobs never find these runs due), and small readers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from sodam.automations import clock, engine, runner
from sodam.automations.models import Run, RunStep
from sodam.db.session import session_scope

KST = ZoneInfo("Asia/Seoul")


def kst(days_ahead: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Seoul, `days_ahead` days from today (always in the future)."""
    day = datetime.now(KST).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(hour, minute), tzinfo=KST).astimezone(UTC)


@pytest.fixture
def frozen():
    """The automations' clock frozen at 10:00 KST two days ahead; real time again afterwards."""
    clock.set(kst(2, 10))
    engine.forget_cache()
    yield clock
    clock.reset()


async def process(ws_id: int) -> dict:
    return await runner.process(workspace_id=ws_id)


async def runs_of(ws_id: int) -> list[Run]:
    async with session_scope() as s:
        return list(await s.scalars(select(Run).where(Run.workspace_id == ws_id).order_by(Run.id)))


async def steps_of(ws_id: int) -> list[RunStep]:
    async with session_scope() as s:
        return list(
            await s.scalars(select(RunStep).where(RunStep.workspace_id == ws_id).order_by(RunStep.id))
        )


async def bot_messages(ws_id: int, contact_id: int) -> list[str]:
    async with session_scope() as s:
        rows = await s.execute(
            text(
                "SELECT m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " WHERE c.workspace_id = :ws AND c.contact_id = :c AND m.sender_type = 'bot' ORDER BY m.id"
            ),
            {"ws": ws_id, "c": contact_id},
        )
        return [r[0] for r in rows]
