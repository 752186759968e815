"""Notification settings, @mentions and what the console needs to decide what to announce.

What is announced (each can be switched off per agent, and sound / desktop separately):
- `assigned`: a conversation was assigned to me by someone else (or by routing / the bot);
- `reply`: the customer wrote in a conversation assigned to me;
- `mention`: someone named me ("@이름") in a private note;
- `sla`: (매니저 and admins) a conversation of my team missed an SLA target.
Nothing is announced for the agent's own actions. The console gets the events over the
agent socket (frames of the conversations domain, plus `mention` frames from here) and
decides with the settings; see docs/notifications.md.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Status
from sodam.notifications.models import NoteMention, NotificationSettings
from sodam.realtime import bus

KINDS = ("assigned", "reply", "mention", "sla")
DEFAULTS: dict[str, bool] = {
    "sound": True,
    "desktop": True,
    "assigned": True,
    "reply": True,
    "mention": True,
    "sla": True,
}
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]")


def clean_settings(raw: dict[str, Any]) -> dict[str, bool]:
    """Known keys only, as booleans; the defaults for what is missing."""
    return {key: bool(raw.get(key, default)) for key, default in DEFAULTS.items()}


async def get_settings(session: AsyncSession, *, workspace_id: int, agent_id: int) -> dict[str, bool]:
    row = await session.scalar(
        select(NotificationSettings).where(
            NotificationSettings.workspace_id == workspace_id, NotificationSettings.agent_id == agent_id
        )
    )
    return clean_settings(row.settings if row else {})


async def save_settings(
    session: AsyncSession, *, workspace_id: int, agent_id: int, settings: dict[str, Any]
) -> dict[str, bool]:
    cleaned = clean_settings(settings)
    stmt = pg_insert(NotificationSettings).values(
        workspace_id=workspace_id, agent_id=agent_id, settings=cleaned
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[NotificationSettings.agent_id],
            set_={"settings": stmt.excluded.settings, "updated_at": stmt.excluded.updated_at},
            where=NotificationSettings.workspace_id == workspace_id,
        )
    )
    return cleaned


def find_mentions(text: str, names: dict[int, str]) -> list[int]:
    """Agents named with "@" in the text: "@김민지님 확인 부탁드려요" names 김민지 (Korean
    names may run straight into a particle or 님); "@Ann" does not name "Anna". At each "@"
    the longest matching name wins."""
    by_length = sorted(
        ((name.strip().lower(), agent_id) for agent_id, name in names.items() if name and name.strip()),
        key=lambda pair: -len(pair[0]),
    )
    found: list[int] = []
    lowered = text.lower()
    for at in (m.start() for m in re.finditer("@", lowered)):
        rest = lowered[at + 1 :]
        for name, agent_id in by_length:
            if not rest.startswith(name):
                continue
            after = rest[len(name) : len(name) + 1]
            if _ASCII_WORD.match(name[-1]) and after and _ASCII_WORD.match(after):
                continue  # "@Ann" inside "@Anna"
            if agent_id not in found:
                found.append(agent_id)
            break
    return found


async def record_mentions(session: AsyncSession, *, workspace_id: int, message_id: int) -> list[int]:
    """Parse a private note's @mentions, store them and tell the named agents' consoles
    (after commit); returns the agents named (never the note's writer)."""
    (message,) = await conversations.get_messages_by_ids(session, ids=[message_id]) or (None,)
    if message is None or message.workspace_id != workspace_id or message.kind.value != "note":
        return []
    agents = await accounts.list_agents(session, workspace_id=workspace_id)
    names = {a.id: a.name for a in agents if a.is_active}
    named = [a for a in find_mentions(message.content, names) if a != message.sender_id]
    if not named:
        return []
    stmt = pg_insert(NoteMention).values(
        [
            {
                "workspace_id": workspace_id,
                "message_id": message.id,
                "agent_id": agent_id,
                "conversation_id": message.conversation_id,
                "mentioned_by": message.sender_id,
            }
            for agent_id in named
        ]
    )
    inserted = list(await session.scalars(stmt.on_conflict_do_nothing().returning(NoteMention.agent_id)))
    if inserted:  # a re-run of the job announces nothing twice
        conversation = await conversations.get(
            session, workspace_id=workspace_id, conversation_id=message.conversation_id
        )
        await bus.publish(
            session,
            {
                "t": "mention",
                "ws": workspace_id,
                "conv": conversation.id,
                "contact": conversation.contact_id,
                "inbox": conversation.inbox_id,
                "private": True,
                "id": message.id,
                "agents": inserted,
                "by": message.sender_id,
            },
        )
    return inserted


async def announce_escalation(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_id: int,
    contact_id: int,
    inbox_id: int,
    agent_ids: list[int],
    kind: str,
    score: int | None,
    reason: str,
) -> None:
    """A survey answer was escalated to these agents (surveys/escalation.py): a notice each sees
    on their next console page until dismissed, and a live frame to the consoles open now
    (after commit). Not switchable: a low score must reach a person."""
    details = {"conversation_id": conversation_id, "kind": kind, "score": score, "reason": reason}
    for agent_id in agent_ids:
        await accounts.add_notice(
            session, workspace_id=workspace_id, agent_id=agent_id, kind="survey_escalation", details=details
        )
    await bus.publish(
        session,
        {
            "t": "escalation",
            "ws": workspace_id,
            "conv": conversation_id,
            "contact": contact_id,
            "inbox": inbox_id,
            "private": True,
            "agents": agent_ids,
            "kind": kind,
            "score": score,
            "reason": reason,
        },
    )


async def mentions_of(session: AsyncSession, *, workspace_id: int, agent_id: int, limit: int = 50):
    """The latest notes naming this agent, newest first."""
    return list(
        await session.scalars(
            select(NoteMention)
            .where(NoteMention.workspace_id == workspace_id, NoteMention.agent_id == agent_id)
            .order_by(NoteMention.created_at.desc())
            .limit(limit)
        )
    )


async def console_state(session: AsyncSession, *, workspace_id: int, agent_id: int) -> dict[str, Any]:
    """What console.js starts from: the settings, the agent's unresolved conversations
    (a customer reply there is announced) and which of them hold unread customer messages
    (the count in the tab title)."""
    mine = [
        c.id
        for status in (Status.open, Status.pending, Status.snoozed)
        for c in await conversations.list_(
            session, workspace_id=workspace_id, agent_id=agent_id, view="mine", status=status, limit=500
        )
    ]
    unread = await conversations.unread_ids(
        session, workspace_id=workspace_id, agent_id=agent_id, conversation_ids=mine
    )
    return {
        "settings": await get_settings(session, workspace_id=workspace_id, agent_id=agent_id),
        "mine": mine,
        "unread": sorted(unread),
    }


async def sla_recipients(session: AsyncSession, *, workspace_id: int, team_id: int | None) -> list[int]:
    """Who hears of a breach: the 매니저 (supervisors and admins) of the conversation's team;
    with no team, or none in it, every 매니저 of the workspace."""
    agents = [
        a
        for a in await accounts.list_agents(session, workspace_id=workspace_id)
        if a.is_active and a.role in (Role.supervisor, Role.admin)
    ]
    if team_id is not None:
        members = set(await accounts.team_member_ids(session, workspace_id=workspace_id, team_id=team_id))
        in_team = [a.id for a in agents if a.id in members]
        if in_team:
            return in_team
    return [a.id for a in agents]


async def notify_sla_breach(session: AsyncSession, *, conversation: Conversation, kind: str) -> list[int]:
    """Tell the team's 매니저 a conversation missed its `kind` target: a notice they see on
    their next page and, live, a frame their open consoles announce (after commit)."""
    recipients = await sla_recipients(
        session, workspace_id=conversation.workspace_id, team_id=conversation.team_id
    )
    for agent_id in recipients:
        await accounts.add_notice(
            session,
            workspace_id=conversation.workspace_id,
            agent_id=agent_id,
            kind="sla_breached",
            details={"conversation_id": conversation.id, "kind": kind},
        )
    if recipients:
        await bus.publish(
            session,
            {
                "t": "sla_breach",
                "ws": conversation.workspace_id,
                "conv": conversation.id,
                "contact": conversation.contact_id,
                "inbox": conversation.inbox_id,
                "private": True,
                "kind": kind,
                "agents": recipients,
            },
        )
    return recipients


async def notify_admins(
    session: AsyncSession, *, workspace_id: int, kind: str, details: dict[str, Any]
) -> int:
    """Leave a console notice for every active admin of the workspace; returns how many."""
    admins = [
        a
        for a in await accounts.list_agents(session, workspace_id=workspace_id)
        if a.is_active and a.role.value == "admin"
    ]
    for admin in admins:
        await accounts.add_notice(
            session, workspace_id=workspace_id, agent_id=admin.id, kind=kind, details=details
        )
    return len(admins)


async def notify_managers(
    session: AsyncSession, *, workspace_id: int, kind: str, details: dict[str, Any]
) -> list[int]:
    """A console notice for every active 매니저 (supervisors and admins) of the workspace, shown
    on their next console page until dismissed; returns who was told."""
    recipients = await sla_recipients(session, workspace_id=workspace_id, team_id=None)
    for agent_id in recipients:
        await accounts.add_notice(
            session, workspace_id=workspace_id, agent_id=agent_id, kind=kind, details=details
        )
    return recipients
