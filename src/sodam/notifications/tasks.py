"""Jobs of the notifications domain: reading @mentions out of private notes after commit."""

from __future__ import annotations

from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react


@job_app.task(name="notifications.note_mentions", queue="default", retry=2)
async def note_mentions(**args) -> list[int]:
    """Store the @mentions of one private note and announce them to the named agents."""
    from sodam.notifications import service

    async with session_scope() as session:
        named = await service.record_mentions(
            session, workspace_id=int(args["workspace_id"]), message_id=int(args["message_id"])
        )
        return named


react(
    "message.created",
    Reaction(
        "notifications.note_mentions",
        when=lambda p: p["kind"] == "note" and p["sender_type"] == "agent",
    ),
)
