from __future__ import annotations

import asyncio
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy import text as text_sql

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation
from sodam.db.session import session_scope
from sodam.routing import engine, service
from sodam.routing.models import Availability


@dataclass
class Floor:
    """A workspace with agents, for routing tests."""

    ws: object
    agents: dict[str, int] = field(default_factory=dict)

    async def agent(
        self, name: str, *, online: bool = True, capacity=None, skills=None, role=Role.agent
    ) -> int:
        async with session_scope() as session:
            agent = await accounts.create_agent(
                session,
                workspace_id=self.ws.workspace_id,
                email=f"{name}-{secrets.token_hex(3)}@{self.ws.slug}.test",
                name=name,
                password="correct-horse-battery",
                role=role,
            )
            await service.update_agent_routing(
                session,
                workspace_id=self.ws.workspace_id,
                agent_id=agent.id,
                capacity=capacity if capacity is not None else {"default": 3},
                skills=skills or {},
            )
            if online:
                await service.set_availability(
                    session,
                    workspace_id=self.ws.workspace_id,
                    agent_id=agent.id,
                    availability=Availability.online,
                    chosen=False,
                    reason="test",
                )
            await session.commit()
        self.agents[name] = agent.id
        return agent.id

    async def customer(
        self,
        text: str | None = None,
        *,
        language=None,
        attributes=None,
        waited_s: float = 0,
        inbox_id=None,
        bot_job: bool = True,
    ) -> int:
        """A customer's conversation (with their first message). bot_job=False takes back the
        bot's reply job the message deferred, for a test that plays the bot's part itself: a live
        test server's worker would otherwise run the real bot first (and hand off its own way)."""
        async with session_scope() as session:
            contact = await contacts.create(
                session,
                workspace_id=self.ws.workspace_id,
                name="고객 " + secrets.token_hex(2),
                custom_attributes=attributes or {},
            )
            conv = await conversations.create(
                session,
                workspace_id=self.ws.workspace_id,
                inbox_id=inbox_id or self.ws.inbox_id,
                contact_id=contact.id,
                language=language,
            )
            if text:
                from sodam.conversations.models import SenderType

                await conversations.create_message(
                    session,
                    conversation=conv,
                    content=text,
                    sender_type=SenderType.contact,
                    sender_id=contact.id,
                )
            if text and not bot_job:
                from sodam.bot.reply_jobs import REPLY_LOCK, REPLY_TASK

                await session.execute(
                    text_sql(
                        "DELETE FROM procrastinate_jobs"
                        " WHERE status = 'todo' AND lock = :lock AND task_name = :task"
                    ),
                    {"lock": REPLY_LOCK.format(conversation_id=conv.id), "task": REPLY_TASK},
                )
            if waited_s:
                await session.execute(
                    update(Conversation)
                    .where(Conversation.id == conv.id)
                    .values(queued_at=datetime.now(UTC) - timedelta(seconds=waited_s))
                )
            await session.commit()
            return conv.id

    @asynccontextmanager
    async def routing_held(self):
        """Hold the workspace's routing lock while a scene is set up: a test server's worker
        dispatching in between would route a half-built scene (e.g. describe the first
        customer, then find an agent created later and give them that customer)."""
        async with session_scope() as session:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:cls, :ws)"),
                {"cls": engine.ROUTING_LOCK_CLASS, "ws": self.ws.workspace_id},
            )
            yield
            await session.commit()

    async def dispatch(self):
        async with session_scope() as session:
            decisions = await engine.dispatch(session, workspace_id=self.ws.workspace_id)
            await session.commit()
            return decisions

    async def bot_messages(self, conversation_id: int, *, wait_s: float = 10.0) -> list:
        """The conversation's bot messages (the first auto-reply), waiting for the first one: it is
        sent after the routing lock is let go by whichever dispatch described the customer —
        maybe a live test server's worker, still sending it when the test's own pass returns."""
        from sodam.conversations.models import Message, SenderType

        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            async with session_scope() as session:
                found = list(
                    await session.scalars(
                        select(Message)
                        .where(
                            Message.conversation_id == conversation_id, Message.sender_type == SenderType.bot
                        )
                        .order_by(Message.id)
                    )
                )
            if found or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.1)

    async def assignee(self, conversation_id: int) -> int | None:
        async with session_scope() as session:
            return await session.scalar(
                select(Conversation.assignee_id).where(Conversation.id == conversation_id)
            )

    async def conversation(self, conversation_id: int) -> Conversation:
        async with session_scope() as session:
            return await session.get(Conversation, conversation_id)


@pytest.fixture
async def floor(make_workspace):
    async def make(**inbox_settings) -> Floor:
        ws = await make_workspace(**{"auto_assign": True, "auto_reply": True, **inbox_settings})
        # The workspace's own admin stays offline unless a test brings them online.
        return Floor(ws)

    return make
