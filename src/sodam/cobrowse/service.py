"""Co-browsing sessions: asked by an agent, agreed (or not) by the customer, ended by either.

Services never commit (callers own the transaction). Each state change appends a line to the
conversation's event log (cobrowse.requested / started / declined / ended) and publishes one
bus event, delivered after COMMIT, that relay.py turns into socket frames.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import ChannelType, Inbox
from sodam.cobrowse.models import CobrowseSession, CobrowseSettings
from sodam.conversations import service as conversations
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.realtime import bus

# A request the customer has not answered in this time is over (expired).
REQUEST_TTL = timedelta(minutes=2)
MAX_SELECTORS = 50
MAX_SELECTOR_CHARS = 200
# What a selector may contain: no braces, semicolons, comments, escapes or markup, so it can
# never close the rule it is put in nor smuggle anything else; brackets must balance.
_SELECTOR_RE = re.compile(r"^[A-Za-z0-9_\-\s.#\[\]=\"'~^$*|:(),>+]+$")
ENDERS = ("contact", "agent", "system")


def _now() -> datetime:
    return datetime.now(UTC)


def validate_selectors(raw: list[str]) -> list[str]:
    """Trimmed, de-duplicated CSS selectors (422 invalid_selector naming the bad one)."""
    out: list[str] = []
    for value in raw:
        selector = " ".join(str(value).split())
        if not selector:
            continue
        if len(selector) > MAX_SELECTOR_CHARS or not _balanced(selector) or not _SELECTOR_RE.match(selector):
            raise Invalid(
                f"not a CSS selector we accept: {selector[:80]!r}",
                code="invalid_selector",
                details={"selector": selector[:MAX_SELECTOR_CHARS]},
            )
        if selector not in out:
            out.append(selector)
    if len(out) > MAX_SELECTORS:
        raise Invalid(f"at most {MAX_SELECTORS} selectors", code="too_many_selectors")
    return out


def _balanced(selector: str) -> bool:
    depth = {"[": 0, "(": 0}
    closing = {"]": "[", ")": "("}
    quote = None
    for ch in selector:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in depth:
            depth[ch] += 1
        elif ch in closing:
            depth[closing[ch]] -= 1
            if depth[closing[ch]] < 0:
                return False
    return quote is None and not any(depth.values()) and selector[-1] not in ",>+~"


async def get_settings(session: AsyncSession, *, workspace_id: int) -> CobrowseSettings:
    """The workspace's co-browsing settings (defaults when never saved)."""
    row = await session.get(CobrowseSettings, workspace_id)
    return row or CobrowseSettings(workspace_id=workspace_id, enabled=True, mask_selectors=[])


async def update_settings(
    session: AsyncSession,
    *,
    workspace_id: int,
    enabled: bool | None = None,
    mask_selectors: list[str] | None = None,
) -> CobrowseSettings:
    """Change the workspace's co-browsing settings (selectors validated)."""
    row = await session.get(CobrowseSettings, workspace_id)
    if row is None:
        row = CobrowseSettings(workspace_id=workspace_id, enabled=True, mask_selectors=[])
        session.add(row)
    if enabled is not None:
        row.enabled = enabled
    if mask_selectors is not None:
        row.mask_selectors = validate_selectors(mask_selectors)
    await session.flush()
    return row


def current_status(row: CobrowseSession, now: datetime | None = None) -> str:
    """The session's status, with an unanswered request past REQUEST_TTL read as expired."""
    if row.status == "requested" and (now or _now()) - row.created_at > REQUEST_TTL:
        return "expired"
    return row.status


async def get(session: AsyncSession, *, workspace_id: int, session_id: int) -> CobrowseSession:
    """A co-browsing session of this workspace (404 otherwise)."""
    row = await session.scalar(
        select(CobrowseSession).where(
            CobrowseSession.workspace_id == workspace_id, CobrowseSession.id == session_id
        )
    )
    if row is None:
        raise NotFound("co-browsing session not found")
    return row


async def list_for_conversation(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, limit: int = 50
) -> list[CobrowseSession]:
    """The conversation's co-browsing sessions, newest first."""
    await conversations.get(session, workspace_id=workspace_id, conversation_id=conversation_id)
    rows = await session.scalars(
        select(CobrowseSession)
        .where(
            CobrowseSession.workspace_id == workspace_id,
            CobrowseSession.conversation_id == conversation_id,
        )
        .order_by(CobrowseSession.id.desc())
        .limit(limit)
    )
    return list(rows)


async def open_for_conversation(
    session: AsyncSession, *, workspace_id: int, conversation_id: int
) -> CobrowseSession | None:
    """The conversation's pending or active session, if any."""
    rows = await session.scalars(
        select(CobrowseSession).where(
            CobrowseSession.workspace_id == workspace_id,
            CobrowseSession.conversation_id == conversation_id,
            CobrowseSession.status.in_(("requested", "active")),
        )
    )
    now = _now()
    for row in rows:
        if current_status(row, now) in ("requested", "active"):
            return row
    return None


async def request(
    session: AsyncSession, *, workspace_id: int, conversation_id: int, agent_id: int | None
) -> CobrowseSession:
    """Ask the conversation's customer to share their page (the widget shows the prompt).

    409 cobrowse_disabled when the workspace turned it off, 409 cobrowse_in_progress when one
    is pending or active, 422 cobrowse_unavailable when the conversation is not a widget chat.
    """
    conversation = await conversations.get(
        session, workspace_id=workspace_id, conversation_id=conversation_id
    )
    settings = await get_settings(session, workspace_id=workspace_id)
    if not settings.enabled:
        raise Conflict("co-browsing is turned off for this workspace", code="cobrowse_disabled")
    inbox = await session.get(Inbox, conversation.inbox_id)
    if inbox is None or inbox.channel_type != ChannelType.web_widget:
        raise Invalid("co-browsing needs a chat-widget conversation", code="cobrowse_unavailable")
    # One open session per conversation (a partial unique index): unanswered requests past
    # their time are closed first, then a concurrent second request fails on the index.
    await session.execute(
        update(CobrowseSession)
        .where(
            CobrowseSession.conversation_id == conversation_id,
            CobrowseSession.status == "requested",
            CobrowseSession.created_at < _now() - REQUEST_TTL,
        )
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    existing = await open_for_conversation(
        session, workspace_id=workspace_id, conversation_id=conversation_id
    )
    if existing is not None:
        raise _in_progress(existing.id)
    row = CobrowseSession(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id,
        requested_by=agent_id,
        status="requested",
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise _in_progress(None) from None
    await session.refresh(row)
    await conversations.log_event(
        session,
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        type="cobrowse.requested",
        actor_type="agent",
        actor_id=agent_id,
        data={"session_id": row.id},
    )
    await _publish(session, row, "requested")
    return row


def _in_progress(session_id: int | None) -> Conflict:
    return Conflict(
        "a co-browsing session is already pending or active",
        code="cobrowse_in_progress",
        details={"session_id": session_id},
    )


async def for_visitor(
    session: AsyncSession, *, inbox_id: int, contact_id: int, session_id: int
) -> CobrowseSession:
    """A session of this visitor (inbox and contact from their token); 404 for anyone else's."""
    row = await session.scalar(
        select(CobrowseSession).where(
            CobrowseSession.id == session_id,
            CobrowseSession.inbox_id == inbox_id,
            CobrowseSession.contact_id == contact_id,
        )
    )
    if row is None:
        raise NotFound("co-browsing session not found")
    return row


async def answer(
    session: AsyncSession, *, inbox_id: int, contact_id: int, session_id: int, accept: bool
) -> CobrowseSession:
    """The customer's answer to a pending request (409 cobrowse_not_pending otherwise)."""
    row = await for_visitor(session, inbox_id=inbox_id, contact_id=contact_id, session_id=session_id)
    if current_status(row) != "requested":
        raise Conflict("this co-browsing request is no longer open", code="cobrowse_not_pending")
    now = _now()
    # Compare-and-set: two tabs answering at once, only one wins.
    done = await session.execute(
        update(CobrowseSession)
        .where(CobrowseSession.id == row.id, CobrowseSession.status == "requested")
        .values(
            status="active" if accept else "declined",
            started_at=now if accept else None,
            ended_at=None if accept else now,
            ended_by=None if accept else "contact",
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict("this co-browsing request is no longer open", code="cobrowse_not_pending")
    await session.refresh(row)
    await conversations.log_event(
        session,
        workspace_id=row.workspace_id,
        conversation_id=row.conversation_id,
        type="cobrowse.started" if accept else "cobrowse.declined",
        actor_type="contact",
        actor_id=contact_id,
        data={"session_id": row.id},
    )
    await _publish(session, row, row.status)
    return row


async def end(
    session: AsyncSession,
    *,
    row: CobrowseSession,
    by: str,
    agent_id: int | None = None,
    reason: str | None = None,
) -> CobrowseSession:
    """End a pending or active session (idempotent: an ended one is returned as it is)."""
    if by not in ENDERS:
        raise ValueError(by)
    status = current_status(row)
    if status not in ("requested", "active"):
        return row
    now = _now()
    done = await session.execute(
        update(CobrowseSession)
        .where(CobrowseSession.id == row.id, CobrowseSession.status.in_(("requested", "active")))
        .values(
            status="ended",
            ended_at=now,
            ended_by=by,
            ended_by_agent_id=agent_id if by == "agent" else None,
            end_reason=(reason or None) and reason[:40],
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(row)
    if done.rowcount != 1:
        return row
    await conversations.log_event(
        session,
        workspace_id=row.workspace_id,
        conversation_id=row.conversation_id,
        type="cobrowse.ended",
        actor_type=by,
        actor_id=agent_id if by == "agent" else (row.contact_id if by == "contact" else None),
        data={"session_id": row.id, "duration_s": duration_s(row), "reason": row.end_reason, "by": by},
    )
    await _publish(session, row, "ended")
    return row


def duration_s(row: CobrowseSession) -> int | None:
    """Seconds between the customer's consent and the end (None if it never started)."""
    if row.started_at is None:
        return None
    end_at = row.ended_at or _now()
    return max(0, int((end_at - row.started_at).total_seconds()))


def state_event(row: CobrowseSession, state: str) -> dict[str, Any]:
    """The bus event of a state change (relay.py: the widget's, the agents' and the mirror's frames).
    `c` rather than `conv`: the conversation resolver leaves these alone."""
    return {
        "t": "cb.state",
        "ws": row.workspace_id,
        "inbox": row.inbox_id,
        "contact": row.contact_id,
        "c": row.conversation_id,
        "sid": row.id,
        "state": state,
        "by": row.ended_by,
    }


async def _publish(session: AsyncSession, row: CobrowseSession, state: str) -> None:
    await bus.publish(session, state_event(row, state))
