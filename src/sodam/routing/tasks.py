"""Routing's jobs: dispatch (deferred by a trigger when someone starts waiting or a place
frees up), the no-answer and presence timers, and a sweep every 10 s that catches what no
event announced (overflow waits passing, business hours opening, a dead process's consoles,
idle agents, promised waits at risk)."""

from __future__ import annotations

from datetime import UTC, datetime

from procrastinate import RetryStrategy

from sodam.channels import promise
from sodam.conversations import live
from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react

# Idempotent work: retried if the database restarts under it.
RETRY = RetryStrategy(max_attempts=5, wait=2)


@job_app.task(name="routing.dispatch", queue="routing", retry=RETRY)
async def dispatch(workspace_id: int) -> int:
    """Route one workspace's queue."""
    from sodam.routing import engine

    async with session_scope() as session:
        decisions = await engine.dispatch(session, workspace_id=int(workspace_id))
        await session.commit()
    return len(decisions)


@job_app.task(name="routing.check_answer", queue="routing", retry=RETRY)
async def check_answer(conversation_id: int, agent_id: int, assigned_at: str | None = None) -> bool:
    """The assigned agent has not answered in time: route the conversation to someone else."""
    from sodam.routing import service

    async with session_scope() as session:
        moved = await service.check_answer(
            session, conversation_id=int(conversation_id), agent_id=int(agent_id), assigned_at=assigned_at
        )
        await session.commit()
    return moved


@job_app.task(name="routing.check_presence", queue="routing", retry=RETRY)
async def check_presence(workspace_id: int, agent_id: int) -> bool:
    """The agent's last console closed a moment ago: offline unless one came back."""
    from sodam.routing import presence

    async with session_scope() as session:
        went = await presence.check_presence(session, workspace_id=int(workspace_id), agent_id=int(agent_id))
        await session.commit()
    return went


@job_app.periodic(cron="* * * * * */10", periodic_id="routing-sweep")
@job_app.task(name="routing.sweep", queue="routing", queueing_lock="routing.sweep", retry=RETRY)
async def sweep(timestamp: int) -> dict:
    """Presence, promised waits at risk, and a dispatch for every workspace with a queue."""
    from sodam.routing import presence, queue

    async with session_scope() as session:
        out = await presence.sweep(session)
        out["at_risk"] = await queue.mark_at_risk(session)
        out["kicked"] = await queue.kick_waiting_workspaces(session)
        await session.commit()
    return out


@job_app.periodic(cron="* * * * *", periodic_id="routing-status-updates")
@job_app.task(
    name="routing.status_updates", queue="routing", queueing_lock="routing.status_updates", retry=RETRY
)
async def status_updates(timestamp: int) -> int:
    """Every minute: a personal status update to customers waiting on the team too long."""
    from sodam.routing import status_updates as updates

    now = datetime.now(UTC)
    sent = 0
    async with session_scope() as session:
        due = await updates.due(session, now=now)
    for conversation_id in due:
        async with session_scope() as session:
            sent += int(await updates.send(session, conversation_id=conversation_id, now=now))
            await session.commit()
    return sent


@job_app.task(name="routing.on_sla_breached", queue="routing", retry=RETRY)
async def on_sla_breached(**args) -> str:
    """A first- or next-response target was missed: the conversation goes to the front of the
    queue, and, if the agent who has it has not answered, to someone else."""
    from sodam.routing import service

    async with session_scope() as session:
        outcome = await service.on_sla_breached(
            session,
            workspace_id=int(args["workspace_id"]),
            conversation_id=int(args["conversation_id"]),
            kind=str(args.get("kind") or ""),
        )
        await session.commit()
    return outcome


react(
    "sla.breached",
    Reaction(
        "routing.on_sla_breached",
        when=lambda p: p.get("kind") in ("first_response", "next_response"),
        queue="routing",
        lock_key="conversation-{conversation_id}",
    ),
)


async def _console_hook(event: str, workspace_id: int, agent_id: int) -> None:
    from sodam.routing import presence

    if event == "open":
        await presence.console_opened(workspace_id=workspace_id, agent_id=agent_id)
    elif event == "close":
        await presence.console_closed(workspace_id=workspace_id, agent_id=agent_id)
    elif event == "activity":
        await presence.console_activity(workspace_id=workspace_id, agent_id=agent_id)


async def _estimate(session, inbox, position: int) -> float | None:
    from sodam.routing import queue

    return await queue.estimated_wait(
        session, inbox=inbox, position=position, staffed_unknown=promise.STAFFED_NO_ESTIMATE
    )


if _console_hook not in live.console_hooks:
    live.console_hooks.append(_console_hook)
if _estimate not in promise.queue_estimators:
    promise.queue_estimators.append(_estimate)


@job_app.task(name="routing.status_reply", queue="routing", retry=RETRY)
async def status_reply(**args) -> str:
    """ "진행 상황 알려주세요" typed in the widget: the conversation's status, without an agent."""
    from sodam.routing import status_reply as replies

    async with session_scope() as session:
        outcome = await replies.answer(session, message_id=int(args["message_id"]), now=datetime.now(UTC))
        await session.commit()
    return outcome


react(
    "message.created",
    Reaction(
        "routing.status_reply",
        when=lambda p: p["sender_type"] == "contact" and bool(p.get("status_request")),
        queue="routing",
        lock_key="conversation-{conversation_id}",
    ),
)
