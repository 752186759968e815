"""The bot's jobs and the reactions that defer them."""

from __future__ import annotations

from sodam.bot import handoff, lead_wait, learning, service
from sodam.bot.knowledge_source import KnowledgeBaseSource
from sodam.bot.reply_jobs import REPLY_LOCK, REPLY_TASK
from sodam.db.session import session_scope
from sodam.jobs.app import job_app
from sodam.jobs.reactions import Reaction, react

_kb = KnowledgeBaseSource()


@job_app.task(name=REPLY_TASK, queue="bot", retry=3)
async def on_customer_message(**args) -> str:
    """Reply to one customer message (jobs of a conversation run one at a time, in order)."""
    async with session_scope() as session:
        return await service.handle_customer_message(session, message_id=int(args["message_id"]), kb=_kb)


@job_app.task(name="bot.assume_resolved", queue="bot", retry=3)
async def assume_resolved(conversation_id: int, after_seq: int) -> bool:
    """Scheduled after an answer: no reply within the window counts as an assumed resolution."""
    async with session_scope() as session:
        return await service.assume_resolved(session, conversation_id=conversation_id, after_seq=after_seq)


@job_app.task(name=handoff.LEAD_WAIT_TASK, queue="bot", retry=3)
async def finish_abandoned_lead(conversation_id: int) -> str:
    """A lead form nobody finished: the conversation goes to people with what it has."""
    async with session_scope() as session:
        return await lead_wait.finish_abandoned_lead(session, conversation_id=conversation_id)


react(
    "message.created",
    Reaction(
        REPLY_TASK,
        # The channel says when its inbox has no bot (the job checks again anyway); "진행 상황
        # 알려주세요" is answered by routing's status reply, never searched as a question.
        when=lambda p: (
            p["sender_type"] == "contact"
            and p["kind"] == "text"
            and p.get("bot_enabled", True)
            and not p.get("status_request")
        ),
        queue="bot",
        lock_key=REPLY_LOCK,
        only_while_bot_handling=True,
        # One waiting job per conversation: it answers the latest message when it runs.
        coalesce=True,
    ),
)


@job_app.task(name="bot.learn_from_agent_reply", queue="bot", retry=3)
async def learn_from_agent_reply(**args) -> str:
    """An agent answered: propose what the knowledge base could learn from a handed-off question."""
    async with session_scope() as session:
        return await learning.learn_from_agent_reply(session, message_id=int(args["message_id"]))


react(
    "message.created",
    Reaction(
        "bot.learn_from_agent_reply",
        # Public replies only (private notes are kind "note"); the job checks the handoff.
        when=lambda p: p["sender_type"] == "agent" and p["kind"] == "text",
        queue="bot",
        lock_key="conversation-{conversation_id}",
    ),
)
