"""Jobs of the surveys domain: asking after a resolved conversation, checking every answer for
an escalation (within a minute: a job deferred with the answer), and the scheduled sends."""

from __future__ import annotations

from procrastinate import RetryStrategy

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react
from sodam.surveys import questions as Q


@job_app.task(name="surveys.after_resolution", queue="default", retry=3)
async def after_resolution(**args) -> int:
    """A conversation was resolved: send the inbox's surveys into it (once per conversation)."""
    from sodam.surveys import service

    async with session_scope() as session:
        sent = await service.invite_after_resolution(session, conversation_id=int(args["conversation_id"]))
        await session.commit()
        return len(sent)


react(
    "conversation.resolved",
    Reaction("surveys.after_resolution", lock_key="conversation-{conversation_id}"),
)


@job_app.task(name="surveys.check_answer", queue="default", retry=3)
async def check_answer(**args) -> dict | None:
    """Score an answer's comment and escalate a low score or a strongly negative comment."""
    from sodam.surveys import escalation

    async with session_scope() as session:
        done = await escalation.check_answer(session, answer_id=int(args["answer_id"]))
        await session.commit()
        return done


def _may_escalate(p: dict) -> bool:
    """Cheap: a low score, or a comment whose sentiment the job has to read."""
    return bool(p.get("escalate")) and (
        bool(p.get("has_comment")) or Q.escalates(p.get("kind", ""), p.get("score"), p.get("escalate_at"))
    )


react(
    "survey.answered",
    Reaction("surveys.check_answer", when=_may_escalate, lock_key="survey-answer-{answer_id}"),
)


@job_app.periodic(cron="* * * * *", periodic_id="surveys-scheduled-sends")
@job_app.task(
    name="surveys.send_due",
    queue="default",
    queueing_lock="surveys.send_due",
    retry=RetryStrategy(max_attempts=5, wait=2),
)
async def send_due(timestamp: int) -> int:
    """Every minute: scheduled invitations whose time has come are sent (their link opens)."""
    from sodam.surveys import service

    async with session_scope() as session:
        count = await service.send_due(session)
        await session.commit()
        return count


@job_app.task(name="surveys.run_send", queue="default", retry=5)
async def run_send(send_id: int) -> int:
    """A send to a large segment: invite its contacts in batches (resumable after a crash)."""
    from sodam.surveys import sends

    return await sends.run(int(send_id))
