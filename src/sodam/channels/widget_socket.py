"""The widget's socket: a one-use ticket for opening it (the visitor token travels in a header,
never in the socket's URL), then /ws — the visitor's messages in (acked after COMMIT), the
conversation's frames out, typing, and other domains' frames (calls, co-browsing) through the
registries below. The widget's HTTP routes are in `widget`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, WebSocket, WebSocketDisconnect

from sodam.channels import service as inboxes
from sodam.channels.models import Inbox
from sodam.channels.widget import (
    ReadLimit,
    accept_visitor_message,
    forbid_origin,
    inbox_for,
    limit_visitor_message,
    read_visitor_token,
    visitor_history,
)
from sodam.conversations import service as conversations
from sodam.conversations import typing as typing_indicator
from sodam.conversations.realtime import visitor_topic
from sodam.core.errors import AppError, Invalid, Unauthorized
from sodam.core.params import MAX_ID, MAX_SEQ, bounded_int
from sodam.db.session import session_scope
from sodam.realtime import tickets
from sodam.realtime.hub import Subscriber, drain_to_socket, hub, next_text, refuse_socket

log = logging.getLogger(__name__)
router = APIRouter(prefix="/widget/v1/{inbox_token}", tags=["widget"])

# Other domains take socket frame types of their own (sodam.calls: "call") without channels
# importing them: type -> async (inbox, contact_id, frame, reply); `reply` offers a frame to
# this socket only.
FrameHandler = Callable[[Inbox, int, dict[str, Any], Callable[[dict[str, Any]], None]], Awaitable[None]]
FRAME_HANDLERS: dict[str, FrameHandler] = {}


@router.post("/socket-ticket", dependencies=ReadLimit)
async def widget_socket_ticket(
    inbox: Inbox = Depends(inbox_for),
    x_sodam_visitor: str | None = Header(default=None),
) -> dict[str, Any]:
    """A one-use ticket (valid 60 s) for opening /ws: the visitor token travels in a header,
    never in the socket's URL (URLs end up in logs)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    ticket = await tickets.issue(VISITOR_TICKET, {"w": inbox.workspace_id, "i": inbox.id, "c": contact_id})
    return {"ticket": ticket, "expires_in": tickets.TICKET_TTL_S}


VISITOR_TICKET = "visitor"


@dataclass
class VisitorSocket:
    """One widget socket, as other domains' frame handlers see it (co-browsing, docs/cobrowse.md):
    `state` is theirs to keep per socket; `offer` queues a frame to this socket only."""

    websocket: WebSocket
    subscriber: Subscriber
    inbox: Inbox
    contact_id: int
    state: dict[str, Any] = field(default_factory=dict)

    def offer(self, frame: dict[str, Any]) -> None:
        self.subscriber.offer(frame)


# Frames of other domains, by the part of their type before the first dot ("cobrowse.accept" ->
# "cobrowse"); the closers run when a socket ends (each with that socket's VisitorSocket).
visitor_frame_handlers: dict[str, Callable[[VisitorSocket, dict[str, Any]], Awaitable[None]]] = {}
visitor_socket_closers: list[Callable[[VisitorSocket], Awaitable[None]]] = []


@router.websocket("/ws")
async def widget_socket(
    websocket: WebSocket,
    inbox_token: str,
    ticket: str = Query(default=""),
    conversation_id: str | None = Query(default=None),
    after_seq: str | None = Query(default=None),
) -> None:
    """Live channel: missed messages first, then everything new; sends are acked after commit.

    Opened with ?ticket= from POST /socket-ticket. Close codes: 4400 bad parameters,
    4401 missing/used/expired ticket, 4403 origin not allowed, 4404 unknown inbox.
    """
    try:
        since = bounded_int(after_seq, name="after_seq", default=0, low=0, high=MAX_SEQ)
        known = bounded_int(conversation_id, name="conversation_id", default=None, low=1, high=MAX_ID)
    except Invalid as exc:
        await refuse_socket(websocket, 4400, exc)
        return
    try:
        async with session_scope() as session:
            inbox = await inboxes.get_by_public_token(session, public_token=inbox_token)
    except AppError as exc:
        await refuse_socket(websocket, 4404, exc)
        return
    own = inboxes.own_origin("https" if websocket.url.scheme == "wss" else "http", websocket.headers)
    if not inboxes.origin_allowed(inbox, websocket.headers.get("origin"), own_origin=own):
        await refuse_socket(websocket, 4403, forbid_origin())
        return
    claims = await tickets.redeem(VISITOR_TICKET, ticket)
    if not claims or claims.get("i") != inbox.id or claims.get("w") != inbox.workspace_id:
        await refuse_socket(
            websocket,
            4401,
            Unauthorized("missing, used or expired socket ticket", code="invalid_socket_ticket"),
        )
        return
    contact_id = int(claims["c"])
    await websocket.accept()
    subscriber = Subscriber()
    sock = VisitorSocket(websocket, subscriber, inbox, contact_id)
    # Subscribe before reading the backlog so nothing falls between the two.
    hub.subscribe(subscriber, [visitor_topic(inbox.id, contact_id)])
    writer = asyncio.create_task(drain_to_socket(websocket, subscriber))
    try:
        async with session_scope() as session:
            current, backlog = await visitor_history(session, inbox, contact_id, known, since)
            read_seq = (
                await conversations.agent_read_seq(session, conversation_id=current.id) if current else 0
            )
        subscriber.offer(
            {
                "type": "hello",
                "conversation_id": current.id if current else None,
                "status": current.status.value if current else None,
                "messages": backlog,
                "read_seq": read_seq,
            }
        )
        while (raw := await next_text(websocket)) is not None:
            await _handle_visitor_frame(websocket, subscriber, inbox, contact_id, raw, sock=sock)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        subscriber.close()
        writer.cancel()
        for closer in visitor_socket_closers:
            try:
                await closer(sock)
            except Exception:  # the socket is gone either way
                log.warning("visitor socket closer failed", exc_info=True)


async def _handle_visitor_frame(
    websocket: WebSocket,
    subscriber: Subscriber,
    inbox: Inbox,
    contact_id: int,
    raw: str,
    sock: VisitorSocket | None = None,
):
    try:
        frame = json.loads(raw)
        if not isinstance(frame, dict):
            raise ValueError
    except ValueError:
        subscriber.offer(
            {"type": "error", "error": {"code": "malformed_json", "message": "frame is not a JSON object"}}
        )
        return
    if frame.get("type") == "ping":
        subscriber.offer({"type": "pong"})
        return
    if frame.get("type") == "typing":  # ephemeral: no database write, no answer
        typed = typing_indicator.parse(frame)
        if typed is not None:
            await typing_indicator.visitor_typing(
                workspace_id=inbox.workspace_id,
                inbox_id=inbox.id,
                contact_id=contact_id,
                conversation_id=typed[0],
                on=typed[1],
            )
        return
    kind = frame.get("type")
    # Two hooks for reacting domains: by frame type with the visitor's inbox and contact
    # (calls), and by the type's prefix with the socket itself (cobrowse.*: the socket that
    # accepted a session is the only one that may stream it).
    handler = FRAME_HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is not None:
        await handler(inbox, contact_id, frame, subscriber.offer)
        return
    socket_handler = visitor_frame_handlers.get(kind.partition(".")[0]) if isinstance(kind, str) else None
    if socket_handler is not None and sock is not None:
        await socket_handler(sock, frame)
        return
    if kind != "message":
        subscriber.offer(
            {"type": "error", "error": {"code": "unknown_frame", "message": "unknown frame type"}}
        )
        return
    client_id = frame.get("client_id")
    content = frame.get("content", "")
    files = frame.get("attachments") or []
    if (
        not isinstance(client_id, str)
        or not isinstance(content, str)
        or not isinstance(files, list)
        or not all(isinstance(f, str) for f in files)
    ):
        subscriber.offer(
            {
                "type": "error",
                "client_id": client_id if isinstance(client_id, str) else None,
                "error": {"code": "invalid", "message": "message frames need string content and client_id"},
            }
        )
        return
    try:
        # Over the limit: an error frame (code rate_limited, details.retry_after); the socket stays.
        await limit_visitor_message(websocket, inbox, contact_id)
        message, _created = await accept_visitor_message(inbox, contact_id, content, client_id, files[:10])
    except AppError as exc:
        subscriber.offer({"type": "error", "client_id": client_id, **exc.body()})
        return
    subscriber.offer({"type": "ack", "client_id": client_id, "message": message})
