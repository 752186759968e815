"""Canned replies: who sees which, create/update/delete, search, and filling placeholders.

Visibility: an agent sees their own personal replies, the replies of the teams they belong
to and the workspace's. Agents who hold `replies.manage` (supervisors, admins) also see, and
manage, every team's replies; nobody sees another agent's personal ones.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission, allows
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.core.errors import Conflict, Forbidden, NotFound
from sodam.replies import placeholders, search
from sodam.replies.models import CannedReply, ReplyScope

# A workspace's visible replies are ranked in Python; this bounds the work per keystroke.
SEARCH_POOL = 2000


@dataclass(frozen=True)
class Viewer:
    """The agent looking at replies, with what decides what they may see and change."""

    agent_id: int
    role: str
    team_ids: tuple[int, ...]

    @property
    def manages_shared(self) -> bool:
        return allows(self.role, Permission.replies_manage)


async def viewer(session: AsyncSession, *, workspace_id: int, agent_id: int, role: str) -> Viewer:
    """The Viewer for an agent (their teams loaded once per request)."""
    team_ids = await accounts.team_ids_of_agent(session, workspace_id=workspace_id, agent_id=agent_id)
    return Viewer(agent_id=agent_id, role=str(getattr(role, "value", role)), team_ids=tuple(team_ids))


def _visible(viewer: Viewer, *, own_teams_only: bool = False):
    team_rule = CannedReply.scope == ReplyScope.team.value
    if own_teams_only or not viewer.manages_shared:
        team_rule = and_(team_rule, CannedReply.team_id.in_(viewer.team_ids or (-1,)))
    return or_(
        CannedReply.scope == ReplyScope.workspace.value,
        and_(CannedReply.scope == ReplyScope.personal.value, CannedReply.owner_agent_id == viewer.agent_id),
        team_rule,
    )


def _shared_denied(viewer: Viewer) -> Forbidden:
    return Forbidden(
        f"your role ({viewer.role}) does not allow team or workspace replies ({Permission.replies_manage.value})",
        code="permission_required",
        details={"permission": Permission.replies_manage.value, "role": viewer.role},
    )


def can_edit(viewer: Viewer, reply: CannedReply) -> bool:
    """Personal replies by their owner; shared ones by those who hold replies.manage."""
    if reply.scope == ReplyScope.personal.value:
        return reply.owner_agent_id == viewer.agent_id
    return viewer.manages_shared


async def get(session: AsyncSession, *, workspace_id: int, viewer: Viewer, reply_id: int) -> CannedReply:
    """A reply this agent may see (404 otherwise, also for another agent's personal one)."""
    reply = await session.scalar(
        select(CannedReply).where(
            CannedReply.workspace_id == workspace_id, CannedReply.id == reply_id, _visible(viewer)
        )
    )
    if reply is None:
        raise NotFound("canned reply not found")
    return reply


async def list_(
    session: AsyncSession,
    *,
    workspace_id: int,
    viewer: Viewer,
    scope: ReplyScope | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[CannedReply]:
    """Visible replies in id order (keyset paging by id)."""
    stmt = select(CannedReply).where(CannedReply.workspace_id == workspace_id, _visible(viewer))
    if scope is not None:
        stmt = stmt.where(CannedReply.scope == scope.value)
    if after_id is not None:
        stmt = stmt.where(CannedReply.id > after_id)
    return list(await session.scalars(stmt.order_by(CannedReply.id).limit(limit)))


async def find(
    session: AsyncSession,
    *,
    workspace_id: int,
    viewer: Viewer,
    query: str,
    own_teams_only: bool = False,
) -> list[tuple[int, CannedReply]]:
    """Visible replies matching the query, best first, with their scores (morpheme analysis
    runs on a worker thread)."""
    rows = list(
        await session.scalars(
            select(CannedReply)
            .where(CannedReply.workspace_id == workspace_id, _visible(viewer, own_teams_only=own_teams_only))
            .order_by(CannedReply.usage_count.desc(), CannedReply.id.desc())
            .limit(SEARCH_POOL)
            .execution_options(populate_existing=True)  # usage counts move under us (record_use)
        )
    )
    by_id = {r.id: r for r in rows}
    candidates = [
        search.Candidate(r.id, r.shortcut, r.title, r.body, tuple(r.search_terms or ()), r.usage_count)
        for r in rows
    ]
    ranked = await asyncio.to_thread(search.rank, candidates, query)
    return [(points, by_id[c.id]) for points, c in ranked]


async def _check_owner(
    session: AsyncSession, *, workspace_id: int, viewer: Viewer, scope: ReplyScope, team_id: int | None
) -> dict[str, Any]:
    """The owner columns for a reply in this scope, or 403/404 when the viewer may not put one there."""
    if scope is ReplyScope.personal:
        return {"owner_agent_id": viewer.agent_id, "team_id": None}
    if not viewer.manages_shared:
        raise _shared_denied(viewer)
    if scope is ReplyScope.team:
        if team_id is None:
            raise NotFound("team not found")
        await accounts.get_team(session, workspace_id=workspace_id, team_id=team_id)
        return {"owner_agent_id": None, "team_id": team_id}
    return {"owner_agent_id": None, "team_id": None}


async def _save(
    session: AsyncSession, reply: CannedReply, changes: dict[str, Any], *, new: bool
) -> CannedReply:
    """Apply the changes and flush inside a savepoint, turning a taken shortcut into a 409 (the
    unique index decides, races included) and leaving the session usable after it."""
    text_of = {key: changes.get(key, getattr(reply, key)) for key in ("shortcut", "title", "body")}
    changes["search_terms"] = await asyncio.to_thread(
        search.terms_of, text_of["shortcut"], text_of["title"], text_of["body"]
    )
    try:
        # Nothing is added or changed before the savepoint: begin_nested() flushes first.
        async with session.begin_nested():
            if new:
                session.add(reply)
            for key, value in changes.items():
                setattr(reply, key, value)
            await session.flush()
    except IntegrityError as exc:
        if "uq_canned_replies_shortcut" in str(exc.orig):
            raise Conflict(
                "this shortcut is already used by another reply in the same scope",
                code="shortcut_taken",
                details={"shortcut": text_of["shortcut"]},
            ) from None
        raise
    await session.refresh(reply)
    return reply


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    viewer: Viewer,
    shortcut: str,
    title: str,
    body: str,
    scope: ReplyScope = ReplyScope.personal,
    team_id: int | None = None,
) -> CannedReply:
    """Create a reply; team and workspace ones need replies.manage (403 permission_required)."""
    owner = await _check_owner(
        session, workspace_id=workspace_id, viewer=viewer, scope=scope, team_id=team_id
    )
    reply = CannedReply(workspace_id=workspace_id, usage_count=0)
    changes = {
        "scope": scope.value,
        "shortcut": shortcut,
        "title": title,
        "body": body,
        "created_by_id": viewer.agent_id,
        "updated_by_id": viewer.agent_id,
        **owner,
    }
    return await _save(session, reply, changes, new=True)


async def update(
    session: AsyncSession, *, workspace_id: int, viewer: Viewer, reply_id: int, **fields: Any
) -> CannedReply:
    """Change a reply's text or move it to another scope (same rules as creating it there)."""
    reply = await get(session, workspace_id=workspace_id, viewer=viewer, reply_id=reply_id)
    if not can_edit(viewer, reply):
        raise _shared_denied(viewer)
    scope = fields.pop("scope", None)
    team_id = fields.pop("team_id", None)
    changes: dict[str, Any] = {"updated_by_id": viewer.agent_id}
    if scope is not None and (scope.value != reply.scope or team_id not in (None, reply.team_id)):
        owner = await _check_owner(
            session, workspace_id=workspace_id, viewer=viewer, scope=scope, team_id=team_id
        )
        changes.update(scope=scope.value, **owner)
    for key in ("shortcut", "title", "body"):
        if fields.get(key) is not None:
            changes[key] = fields[key]
    return await _save(session, reply, changes, new=False)


async def delete(session: AsyncSession, *, workspace_id: int, viewer: Viewer, reply_id: int) -> None:
    """Delete a reply this agent may edit."""
    reply = await get(session, workspace_id=workspace_id, viewer=viewer, reply_id=reply_id)
    if not can_edit(viewer, reply):
        raise _shared_denied(viewer)
    await session.delete(reply)
    await session.flush()


async def record_use(session: AsyncSession, *, workspace_id: int, reply_id: int) -> None:
    """One more use (ranks the reply higher in the picker); a single UPDATE, no read."""
    await session.execute(
        sql_update(CannedReply)
        .where(CannedReply.workspace_id == workspace_id, CannedReply.id == reply_id)
        .values(usage_count=CannedReply.usage_count + 1, last_used_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def render(
    session: AsyncSession,
    *,
    workspace_id: int,
    viewer: Viewer,
    reply_id: int,
    conversation_id: int | None = None,
    count_use: bool = True,
) -> str:
    """The reply's body with placeholders filled from the conversation's contact and the agent."""
    reply = await get(session, workspace_id=workspace_id, viewer=viewer, reply_id=reply_id)
    contact = None
    if conversation_id is not None:
        conversation = await conversations.get(
            session, workspace_id=workspace_id, conversation_id=conversation_id
        )
        contact = await contacts.get(session, workspace_id=workspace_id, contact_id=conversation.contact_id)
    agent = await accounts.get_agent(session, workspace_id=workspace_id, agent_id=viewer.agent_id)
    language = placeholders.reply_language(reply.body, contact.language if contact else None)
    values = placeholders.values_for(contact=contact, agent_name=agent.name, language=language)
    if count_use:
        await record_use(session, workspace_id=workspace_id, reply_id=reply.id)
    return placeholders.fill(reply.body, values)
