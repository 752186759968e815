"""The agents' live socket: every event of the agent's workspace (messages incl. notes,
conversation created/updated). Used by the console and by API clients."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from sodam.accounts.auth import ReadPrincipal, bearer_from_header, principal_from_token
from sodam.accounts.sessions import socket_principal
from sodam.conversations import typing
from sodam.conversations.realtime import agent_topic, workspace_topic
from sodam.core.deps import Principal
from sodam.core.errors import AppError, Unauthorized
from sodam.core.ratelimit import RateLimited, enforce
from sodam.db.session import session_scope
from sodam.realtime import tickets
from sodam.realtime.hub import Subscriber, drain_to_socket, hub, next_text, refuse_socket

log = logging.getLogger(__name__)
router = APIRouter(tags=["realtime"])

# Other authenticators (the console's session cookie) register here; each returns a
# Principal or None when its credentials are absent.
SocketAuthenticator = Callable[[WebSocket], Awaitable[Principal | None]]
socket_authenticators: list[SocketAuthenticator] = []


AGENT_TICKET = "agent"


async def _token_auth(websocket: WebSocket) -> Principal | None:
    """An API token in the handshake's Authorization header (clients that can set headers)."""
    raw = bearer_from_header(websocket.headers.get("authorization"))
    if not raw:
        return None
    async with session_scope() as session:
        return await principal_from_token(session, raw)


async def _ticket_auth(websocket: WebSocket) -> Principal | None:
    """A one-use ticket from POST /api/v1/realtime/ticket (browsers cannot set headers)."""
    ticket = websocket.query_params.get("ticket")
    if not ticket:
        return None
    claims = await tickets.redeem(AGENT_TICKET, ticket)
    if claims is None:
        raise Unauthorized("missing, used or expired socket ticket", code="invalid_socket_ticket")
    return Principal(**{**claims, "scopes": tuple(claims["scopes"])})


# Domains that follow agents' consoles (routing's presence) register here: called with
# ("open" | "close" | "activity", workspace_id, agent_id) for console sockets (not API tokens).
ConsoleHook = Callable[[str, int, int], Awaitable[None]]
console_hooks: list[ConsoleHook] = []


async def _tell_console_hooks(event: str, principal: Principal) -> None:
    if principal.agent_id is None or principal.token_id is not None:
        return
    for hook in console_hooks:
        try:
            await hook(event, principal.workspace_id, principal.agent_id)
        except Exception:  # presence is best effort: the socket must not die of it
            log.warning("console hook failed", exc_info=True)


# Other domains take frame types of their own (sodam.calls: "call") without this module
# importing them: type -> async (principal, frame, reply); `reply` offers a frame to this socket.
FrameHandler = Callable[[Principal, dict[str, Any], Callable[[dict[str, Any]], None]], Awaitable[None]]
frame_handlers: dict[str, FrameHandler] = {}

socket_authenticators.append(_token_auth)
socket_authenticators.append(_ticket_auth)
socket_authenticators.append(socket_principal)  # the console's session cookie


async def authenticate_socket(websocket: WebSocket) -> Principal | None:
    for authenticate in socket_authenticators:
        try:
            principal = await authenticate(websocket)
        except AppError:
            return None
        if principal is not None:
            return principal
    return None


@router.post(
    "/api/v1/realtime/ticket",
    summary="A one-use ticket (valid 60 s) for opening the realtime socket from a browser",
)
async def agent_socket_ticket(principal: ReadPrincipal) -> dict[str, Any]:
    """Open `/api/v1/realtime?ticket=...` with it: the API token stays in a header."""
    claims = asdict(principal)
    claims["scopes"] = list(principal.scopes)
    return {"ticket": await tickets.issue(AGENT_TICKET, claims), "expires_in": tickets.TICKET_TTL_S}


@router.websocket("/api/v1/realtime")
async def agent_socket(websocket: WebSocket) -> None:
    """Frames: {"type": "message", ...}, {"type": "conversation", ...}, {"type": "resync"}.

    Authenticated by `Authorization: Bearer <API token>`, `?ticket=` or the console's
    session cookie (same origin); otherwise closed with 4401 after one error frame.
    """
    principal = await authenticate_socket(websocket)
    await websocket.accept()
    if principal is not None and principal.token_id is not None:
        try:  # a socket opened with an API token counts against that token's limit
            await enforce(
                websocket, ("api_token", str(principal.token_id)), workspace_id=principal.workspace_id
            )
        except RateLimited as exc:
            await refuse_socket(websocket, 4429, exc, accepted=True)
            return
    if principal is None:
        error = Unauthorized("sign in, or send an API token or a socket ticket", code="unauthorized")
        await refuse_socket(websocket, 4401, error, accepted=True)
        return
    subscriber = Subscriber(max_queue=5000)
    topics = [workspace_topic(principal.workspace_id)]
    if principal.agent_id is not None:  # frames for this agent alone (a call's signalling)
        topics.append(agent_topic(principal.agent_id))
    hub.subscribe(subscriber, topics)
    writer = asyncio.create_task(drain_to_socket(websocket, subscriber))
    subscriber.offer(
        {"type": "hello", "workspace_id": principal.workspace_id, "agent_id": principal.agent_id}
    )
    await _tell_console_hooks("open", principal)
    try:
        while (raw := await next_text(websocket)) is not None:
            if is_ping(raw):
                subscriber.offer({"type": "pong"})
            elif is_activity(raw):
                await _tell_console_hooks("activity", principal)
            elif frame_handlers and (handled := _handled_frame(raw)) is not None:
                try:
                    await frame_handlers[handled[0]](principal, handled[1], subscriber.offer)
                except Exception:  # one bad frame must not end the agent's socket
                    log.warning("frame handler failed", exc_info=True)
            elif (typed := typing.parse(raw)) is not None and principal.agent_id is not None:
                # "입력 중…" for the customer: a notification, never a database write.
                await typing.agent_typing(
                    workspace_id=principal.workspace_id,
                    agent_id=principal.agent_id,
                    conversation_id=typed[0],
                    on=typed[1],
                )
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        subscriber.close()
        writer.cancel()
        await _tell_console_hooks("close", principal)


def is_activity(raw: str) -> bool:
    """The console says its agent is using it (sent at most once a minute)."""
    return raw.startswith("{") and '"activity"' in raw and _frame_type(raw) == "activity"


def _handled_frame(raw: str) -> tuple[str, dict[str, Any]] | None:
    """(type, frame) of a JSON object frame whose type another domain handles; else None."""
    if not raw.startswith("{"):
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    kind = frame.get("type") if isinstance(frame, dict) else None
    return (kind, frame) if isinstance(kind, str) and kind in frame_handlers else None


def _frame_type(raw: str) -> str | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame.get("type") if isinstance(frame, dict) else None


def is_ping(raw: str) -> bool:
    """ "ping", or a JSON object of type ping however it is spaced."""
    if raw.strip() == "ping":
        return True
    try:
        frame = json.loads(raw)
    except ValueError:
        return False
    return isinstance(frame, dict) and frame.get("type") == "ping"
