"""Durable jobs of the phone line: the callback task at its slot, the reminder before it."""

from __future__ import annotations

import logging

from sodam.db.session import session_scope
from sodam.jobs.app import job_app

log = logging.getLogger(__name__)


@job_app.task(name="voice.callback_due", queue="routing", retry=3)
async def callback_due(callback_id: int, slot_at: str) -> int | None:
    """At the slot: the callback task in the human queue (routing assigns it)."""
    from sodam.voice import callbacks

    async with session_scope() as session:
        task = await callbacks.make_task(session, callback_id=callback_id, slot_at=slot_at)
        return task.id if task else None


@job_app.task(name="voice.callback_reminder", retry=3)
async def callback_reminder(callback_id: int, slot_at: str) -> bool:
    from sodam.voice import callbacks

    async with session_scope() as session:
        return await callbacks.remind(session, callback_id=callback_id, slot_at=slot_at)
