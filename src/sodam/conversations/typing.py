"""Typing indicators ("입력 중…"), both ways: socket frames in, bus notifications out.

Ephemeral by design: nothing is written to the database (a NOTIFY outside any
transaction), each side throttles (the browser sends at most one "typing" every
TYPING_EVERY_S while keys are pressed, and one "stopped"), and this process drops
repeats inside MIN_GAP_S anyway. A receiver that hears nothing for TYPING_TTL_S
hides the indicator on its own, so a lost "stopped" costs nothing.
"""

from __future__ import annotations

import time
from typing import Any

from sodam.conversations.models import Conversation
from sodam.db.session import session_scope
from sodam.realtime import bus

TYPING_EVERY_S = 2.0  # console.js and widget.js send at most this often
TYPING_TTL_S = 6.0  # receivers hide the indicator after this long without news
MIN_GAP_S = 1.0
_CACHE_MAX = 10_000

# conversation id -> (workspace, inbox, contact): what an agent's typing frame needs.
_where: dict[int, tuple[int, int, int]] = {}
# (who, id, conversation) -> (last state sent, when)
_last: dict[tuple[str, int, int], tuple[bool, float]] = {}


def _trim(cache: dict) -> None:
    while len(cache) > _CACHE_MAX:
        del cache[next(iter(cache))]


def _due(key: tuple[str, int, int], on: bool) -> bool:
    now = time.monotonic()
    last = _last.get(key)
    if last is not None and last[0] == on and now - last[1] < MIN_GAP_S:
        return False
    _last[key] = (on, now)
    _trim(_last)
    return True


def parse(raw: str | dict[str, Any]) -> tuple[int, bool] | None:
    """(conversation id, typing?) of a {"type": "typing", "conversation_id": N, "typing": bool}
    frame; None for anything else."""
    import json

    try:
        frame = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(frame, dict) or frame.get("type") != "typing":
        return None
    conv = frame.get("conversation_id")
    if type(conv) is not int or not 0 < conv < 2**62:
        return None
    return conv, frame.get("typing", True) is not False


async def agent_typing(*, workspace_id: int, agent_id: int, conversation_id: int, on: bool) -> bool:
    """Tell the conversation's customer (and the other agents) that this agent types."""
    where = _where.get(conversation_id)
    if where is None:
        async with session_scope() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return False
            where = (conversation.workspace_id, conversation.inbox_id, conversation.contact_id)
        _where[conversation_id] = where
        _trim(_where)
    if where[0] != workspace_id or not _due(("agent", agent_id, conversation_id), on):
        return False
    await bus.publish_now(
        {
            "t": "typing",
            "ws": where[0],
            "conv": conversation_id,
            "inbox": where[1],
            "contact": where[2],
            "who": "agent",
            "agent": agent_id,
            "on": on,
        }
    )
    return True


async def visitor_typing(
    *, workspace_id: int, inbox_id: int, contact_id: int, conversation_id: int, on: bool
) -> bool:
    """Tell the agents that this visitor types in their current conversation (checked: the
    visitor's own latest conversation in this inbox, looked up at most once a minute)."""
    key = ("contact", contact_id, conversation_id)
    where = _where.get(conversation_id)
    if where is None or where[1:] != (inbox_id, contact_id):
        async with session_scope() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or (conversation.inbox_id, conversation.contact_id) != (
                inbox_id,
                contact_id,
            ):
                return False
            where = (conversation.workspace_id, inbox_id, contact_id)
        _where[conversation_id] = where
        _trim(_where)
    if where[0] != workspace_id or not _due(key, on):
        return False
    await bus.publish_now(
        {
            "t": "typing",
            "ws": workspace_id,
            "conv": conversation_id,
            "inbox": inbox_id,
            "contact": contact_id,
            "who": "contact",
            "on": on,
        }
    )
    return True
