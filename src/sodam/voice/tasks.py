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


@job_app.task(name="voice.callback_mail", queue="mail", retry=3)
async def callback_mail(callback_id: int, what: str, slot_at: str) -> bool:
    """A callback notice by e-mail through the workspace's sending inbox (retried on failure)."""
    from sodam.mail.outbound import send
    from sodam.voice import notify

    async with session_scope() as session:
        out = await notify.prepare(session, callback_id=callback_id, what=what, slot_at=slot_at)
    if out is None:
        return False
    await send(out)
    return True
