"""Where call frames go: the lifecycle to the workspace's agents and the customer's widget
(after COMMIT, with the state change), the signalling to the other party of the call only
(at once, never stored).

Both travel on the bus as `call.frame` events carrying their target topics and no `conv` key,
so the conversations' resolver never sees them: each process offers the frame to its own
subscribers of those topics. A NOTIFY payload is limited to 8,000 bytes: a larger frame (an
SDP offer) travels zlib-compressed.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.calls.models import WebCall
from sodam.conversations.realtime import agent_topic, visitor_topic, workspace_topic
from sodam.core.errors import Invalid
from sodam.realtime import bus
from sodam.realtime.hub import hub

EVENT = "call.frame"
PLAIN_MAX = 6_000
NOTIFY_MAX = 7_900


def customer_topic(call: WebCall) -> str:
    return visitor_topic(call.inbox_id, call.contact_id)


def lifecycle_topics(call: WebCall) -> list[str]:
    """The workspace's agents (their consoles filter by conversation and agent) and the customer."""
    return [workspace_topic(call.workspace_id), customer_topic(call)]


def peer_topic(call: WebCall, sender: str) -> str | None:
    """The other party's topic: the call's agent for the customer, the customer for the agent."""
    if sender == "contact":
        return agent_topic(call.agent_id) if call.agent_id is not None else None
    return customer_topic(call)


def _event(topics: list[str], frame: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
    event: dict[str, Any] = {"t": EVENT, "to": topics}
    if len(text.encode()) <= PLAIN_MAX:
        event["frame"] = frame
    else:
        event["z"] = base64.b64encode(zlib.compress(text.encode(), 6)).decode()
    if len(json.dumps(event, separators=(",", ":")).encode()) > NOTIFY_MAX:
        raise Invalid("the signalling frame is too large", code="too_large")
    return event


async def publish(session: AsyncSession, topics: list[str], frame: dict[str, Any]) -> None:
    """Deliver when the session's transaction commits (never if it rolls back)."""
    await bus.publish(session, _event(topics, frame))


async def send_now(topics: list[str], frame: dict[str, Any]) -> None:
    """Deliver at once, outside any transaction (signalling: nothing is written)."""
    await bus.publish_now(_event(topics, frame))


async def on_bus_event(event: dict[str, Any]) -> None:
    """Every process: offer a call frame to its own subscribers of the event's topics."""
    if event.get("t") != EVENT:
        return
    frame = event.get("frame")
    if frame is None and isinstance(event.get("z"), str):
        frame = json.loads(zlib.decompress(base64.b64decode(event["z"]), bufsize=64 * 1024))
    if not isinstance(frame, dict):
        return
    for topic in event.get("to") or ():
        if isinstance(topic, str):
            hub.offer_topic(topic, frame)


def install() -> None:
    """Idempotent: hub.on_event ignores a handler it already has."""
    hub.on_event(on_bus_event)
