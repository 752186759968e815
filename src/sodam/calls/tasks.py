"""Durable jobs of browser calls: the ring timeout (an unanswered call is missed) and the
minute's sweep (silent connected calls end, booked calls are reminded or missed)."""

from __future__ import annotations

from sodam.db.session import session_scope
from sodam.jobs.app import job_app


@job_app.task(name="calls.ring_timeout", retry=3)
async def ring_timeout(call_id: int, ringing_at: str) -> bool:
    from sodam.calls import service, timeline

    timeline.register()
    async with session_scope() as session:
        missed = await service.ring_timeout(session, call_id=call_id, ringing_at=ringing_at)
        await session.commit()
        return missed


@job_app.periodic(cron="* * * * *", periodic_id="calls-sweep")
@job_app.task(name="calls.sweep", queueing_lock="calls.sweep", retry=3)
async def sweep(timestamp: int) -> dict:
    from sodam.calls import service, timeline

    timeline.register()
    async with session_scope() as session:
        done = await service.sweep(session)
        await session.commit()
        return done
