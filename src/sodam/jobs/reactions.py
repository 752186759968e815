"""Cross-domain reactions: a domain emits an event inside its transaction, and every
reaction registered for that event type is deferred as a durable job in the same
transaction. The emitting domain never imports the reacting one (the bot, routing,
automations register themselves here when their task module is imported)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.jobs.app import defer_in_tx


@dataclass(frozen=True)
class Reaction:
    task_name: str
    # Cheap, synchronous filter on the payload (no I/O): skip jobs that would do nothing.
    when: Callable[[dict[str, Any]], bool] | None = None
    queue: str = "default"
    # Jobs with the same lock run one at a time (e.g. per conversation, in order).
    lock_key: str | None = None
    # For "message.created" (the message function decides, under the conversation's lock):
    # defer only while the bot has the conversation (no handoff, no agent).
    only_while_bot_handling: bool = False
    # For "message.created": one job for many messages, deferred this many seconds ahead
    # unless one is already pending; the task finds its own work (e.g. unscored messages).
    batch_seconds: float | None = None
    # For "message.created" (needs lock_key): not deferred while a job of this task with the
    # same lock is still waiting; that job must then handle the latest message, not its own.
    coalesce: bool = False


_reactions: dict[str, list[Reaction]] = defaultdict(list)


def react(event_type: str, reaction: Reaction) -> None:
    """Register a reaction (idempotent per task name)."""
    if all(r.task_name != reaction.task_name for r in _reactions[event_type]):
        _reactions[event_type].append(reaction)


def registered(event_type: str) -> list[Reaction]:
    return list(_reactions.get(event_type, ()))


async def emit(session: AsyncSession, event_type: str, payload: dict[str, Any]) -> list[int]:
    """Defer every matching reaction in the session's transaction; returns the job ids."""
    job_ids = []
    for reaction in _reactions.get(event_type, ()):
        if reaction.when is not None and not reaction.when(payload):
            continue
        lock = reaction.lock_key.format(**payload) if reaction.lock_key else None
        job_ids.append(
            await defer_in_tx(
                session, reaction.task_name, {"event": event_type, **payload}, queue=reaction.queue, lock=lock
            )
        )
    return job_ids


def jobs_for(event_type: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The reactions to defer for this event, as sodam_post_message takes them: the lock may
    hold the template {conversation_id}, which the database fills in."""
    jobs = []
    for r in _reactions.get(event_type, ()):
        if r.when is not None and not r.when(payload):
            continue
        job: dict[str, Any] = {"task": r.task_name, "queue": r.queue, "lock": r.lock_key}
        if r.only_while_bot_handling:
            job["if"] = "bot_handling"
        if r.batch_seconds is not None:
            job["batch_seconds"] = r.batch_seconds
        if r.coalesce:
            job["coalesce"] = True
        jobs.append(job)
    return jobs
