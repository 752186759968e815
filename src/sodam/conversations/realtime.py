"""Turns bus events into socket frames: agents get everything of their workspace,
a widget gets its own conversation's public messages."""

from __future__ import annotations

import time
from collections.abc import Set as AbstractSet
from typing import Any

from sodam.accounts.models import Agent
from sodam.conversations import service
from sodam.conversations.models import Conversation
from sodam.conversations.schemas import ConversationOut, message_out
from sodam.db.session import session_scope

_agent_names: dict[int, str] = {}
# What customers see of an agent: the public name (display name, else name) and avatar id,
# read again after AGENT_FACE_TTL_S so a change on 내 계정 reaches every process soon.
_agent_avatars: dict[int, str | None] = {}
_agent_seen_at: dict[int, float] = {}
AGENT_FACE_TTL_S = 60.0


def workspace_topic(workspace_id: int) -> str:
    return f"ws:{workspace_id}"


def agent_topic(agent_id: int) -> str:
    """One agent's consoles: frames meant for that agent alone (a browser call's signalling)."""
    return f"agent:{agent_id}"


def visitor_topic(inbox_id: int, contact_id: int) -> str:
    """A customer's widget tabs: every conversation of this contact in this inbox."""
    return f"visitor:{inbox_id}:{contact_id}"


def _fresh(agent_id: int) -> bool:
    return agent_id in _agent_names and time.monotonic() - _agent_seen_at.get(agent_id, 0) < AGENT_FACE_TTL_S


async def agent_name(session, agent_id: int | None) -> str | None:
    """The agent's public name (what customers see)."""
    if agent_id is None:
        return None
    if not _fresh(agent_id):
        agent = await session.get(Agent, agent_id, populate_existing=True)
        _agent_names[agent_id] = agent.public_name if agent else ""
        _agent_avatars[agent_id] = agent.avatar_id if agent else None
        _agent_seen_at[agent_id] = time.monotonic()
    return _agent_names[agent_id] or None


def agent_avatar(agent_id: int | None) -> str | None:
    """The avatar id agent_name() last read for this agent."""
    return _agent_avatars.get(agent_id) if agent_id is not None else None


def _local_message_frame(event: dict[str, Any]) -> dict[str, Any] | None:
    """The frame for a message this process created, without a database read; None otherwise."""
    out = service.take_recent_message(event["id"])
    if out is None:
        return None
    if out["sender_type"] == "agent":
        if not _fresh(out["sender_id"]):
            return None  # the name needs a read: take the ordinary path
        out = {
            **out,
            "sender_name": _agent_names[out["sender_id"]] or None,
            "sender_avatar": _agent_avatars.get(out["sender_id"]),
        }
    return {"type": "message", "conversation_id": out["conversation_id"], "message": out}


def _light_frames(event: dict[str, Any], ws_topic: str, conv_topic: str) -> list[tuple[str, dict[str, Any]]]:
    """Frames that need no database read: typing (ephemeral, never stored), read state for
    the visitor, @mentions for the agents."""
    conv = event["conv"]
    if event["t"] == "typing":
        typing = bool(event.get("on"))
        who = "agent" if event.get("who") == "agent" else "contact"
        frames = [
            (
                ws_topic,
                {
                    "type": "typing",
                    "conversation_id": conv,
                    "sender_type": who,
                    "agent_id": event.get("agent"),
                    "typing": typing,
                },
            )
        ]
        if who == "agent":  # the customer sees "입력 중…", not who
            frames.append((conv_topic, {"type": "typing", "conversation_id": conv, "typing": typing}))
        return frames
    if event["t"] == "queue":  # the queue moved: the waiting customer asks for their place again
        return [(conv_topic, {"type": "queue", "conversation_id": conv})]
    if event["t"] == "frame":  # built by the publisher for the workspace's agents (routing)
        return [(ws_topic, dict(event.get("frame") or {}))]
    if event["t"] == "read":
        return [(conv_topic, {"type": "read", "conversation_id": conv, "seq": int(event.get("seq") or 0)})]
    if event["t"] == "mention":
        frame = {
            "type": "mention",
            "conversation_id": conv,
            "message_id": event.get("id"),
            "agent_ids": list(event.get("agents") or []),
            "by": event.get("by"),
        }
        return [(ws_topic, frame)]
    if event["t"] == "sla_breach":
        frame = {
            "type": "sla_breach",
            "conversation_id": conv,
            "kind": event.get("kind"),
            "agent_ids": list(event.get("agents") or []),
        }
        return [(ws_topic, frame)]
    if event["t"] == "escalation":  # a survey answer handed to a 매니저 (surveys/escalation.py)
        frame = {
            "type": "escalation",
            "conversation_id": conv,
            "agent_ids": list(event.get("agents") or []),
            "kind": event.get("kind"),
            "score": event.get("score"),
            "reason": event.get("reason"),
        }
        return [(ws_topic, frame)]
    return []


LIGHT_EVENTS = frozenset({"typing", "read", "mention", "frame", "queue", "sla_breach", "escalation"})


def _audience(event: dict[str, Any], topics: AbstractSet[str]) -> tuple[str, str, bool, bool]:
    """The event's two topics, and whether this process's agents / the customer's tabs want it."""
    ws_topic = workspace_topic(event["ws"])
    conv_topic = visitor_topic(event["inbox"], event["contact"])
    return ws_topic, conv_topic, ws_topic in topics, conv_topic in topics and not event.get("private")


def resolve_at_once(
    event: dict[str, Any], topics: AbstractSet[str]
) -> list[tuple[str, dict[str, Any]]] | None:
    """The frames of an event that need no database read; None when they do."""
    ws_topic, conv_topic, wanted_ws, wanted_conv = _audience(event, topics)
    if event["t"] in LIGHT_EVENTS:
        return _light_frames(event, ws_topic, conv_topic)
    # Taken even when nobody here listens, so the process-local cache never fills up. The
    # committer fills it before it sends the NOTIFYs (db/group_commit.py): a message not in it
    # was written elsewhere (the job worker, an agent's request) and is read.
    local = _local_message_frame(event) if event["t"] == "message.created" else None
    if not (wanted_ws or wanted_conv):
        return []  # nobody on this node cares: skip the database read
    if local is None:
        return None
    # Written by this process: no database read (the common case with one worker).
    frames: list[tuple[str, dict[str, Any]]] = []
    if wanted_ws:
        frames.append((ws_topic, local))
    if wanted_conv:
        frames.append((conv_topic, local))
    return frames


async def resolve(event: dict[str, Any], topics: AbstractSet[str]) -> list[tuple[str, dict[str, Any]]]:
    frames = resolve_at_once(event, topics)
    if frames is not None:
        return frames
    ws_topic, conv_topic, wanted_ws, wanted_conv = _audience(event, topics)
    frames = []
    async with session_scope() as session:
        if event["t"] == "message.created":
            messages = await service.get_messages_by_ids(session, ids=[event["id"]])
            if not messages:
                return []
            message = messages[0]
            name = (
                await agent_name(session, message.sender_id) if message.sender_type.value == "agent" else None
            )
            out = message_out(message, name)
            if message.sender_type.value == "agent":
                out["sender_avatar"] = agent_avatar(message.sender_id)
            frame = {"type": "message", "conversation_id": message.conversation_id, "message": out}
            if wanted_ws:
                frames.append((ws_topic, frame))
            if wanted_conv:
                frames.append((conv_topic, frame))
        elif event["t"] in ("conversation.created", "conversation.updated"):
            conversation = await session.get(Conversation, event["conv"])
            if conversation is None:
                return []
            payload = ConversationOut.model_validate(conversation).model_dump(mode="json")
            frame = {"type": "conversation", "event": event["t"], "conversation": payload}
            if event.get("assigned"):  # an assignment: who made it (None: routing, the bot)
                frame["assigned"] = True
                frame["actor_id"] = event.get("by")
            if wanted_ws:
                frames.append((ws_topic, frame))
            if conv_topic in topics:
                frames.append(
                    (
                        conv_topic,
                        {"type": "status", "conversation_id": payload["id"], "status": payload["status"]},
                    )
                )
    return frames
