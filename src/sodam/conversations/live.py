"""The agents' live socket: every event of the agent's workspace (messages incl. notes,
conversation created/updated). Used by the console and by API clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from sodam.accounts.auth import bearer_from_header, principal_from_token
from sodam.accounts.sessions import socket_principal
from sodam.conversations.realtime import workspace_topic
from sodam.core.deps import Principal
from sodam.core.errors import AppError
from sodam.db.session import session_scope
from sodam.realtime.hub import Subscriber, drain_to_socket, hub

router = APIRouter(tags=["realtime"])

# Other authenticators (the console's session cookie) register here; each returns a
# Principal or None when its credentials are absent.
SocketAuthenticator = Callable[[WebSocket], Awaitable[Principal | None]]
socket_authenticators: list[SocketAuthenticator] = []


async def _token_auth(websocket: WebSocket) -> Principal | None:
    raw = bearer_from_header(websocket.headers.get("authorization")) or websocket.query_params.get(
        "access_token"
    )
    if not raw:
        return None
    async with session_scope() as session:
        return await principal_from_token(session, raw)


socket_authenticators.append(_token_auth)
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


@router.websocket("/api/v1/realtime")
async def agent_socket(websocket: WebSocket) -> None:
    """Frames: {"type": "message", ...}, {"type": "conversation", ...}, {"type": "resync"}."""
    principal = await authenticate_socket(websocket)
    if principal is None:
        await websocket.close(code=4401, reason="unauthorized")
        return
    await websocket.accept()
    subscriber = Subscriber(max_queue=5000)
    hub.subscribe(subscriber, [workspace_topic(principal.workspace_id)])
    writer = asyncio.create_task(drain_to_socket(websocket, subscriber))
    subscriber.offer(
        {"type": "hello", "workspace_id": principal.workspace_id, "agent_id": principal.agent_id}
    )
    try:
        while True:
            raw = await websocket.receive_text()
            if raw == "ping" or raw == '{"type":"ping"}':
                subscriber.offer({"type": "pong"})
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        subscriber.close()
        writer.cancel()
