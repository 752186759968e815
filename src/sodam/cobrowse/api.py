"""REST API v1 and the mirror socket of co-browsing (docs/cobrowse.md).

Asking, reading, stopping and watching need `work` (any agent of the conversation's
workspace); the workspace's settings need `cobrowse.manage`.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, WebSocket, WebSocketDisconnect

from sodam.accounts.auth import ApiSession, ReadPrincipal, WritePrincipal, api_access
from sodam.accounts.permissions import Permission, allows
from sodam.cobrowse import relay, service, timeline
from sodam.cobrowse.schemas import SessionOut, SettingsIn, SettingsOut, session_out
from sodam.conversations.live import authenticate_socket
from sodam.core.deps import Principal
from sodam.core.errors import NotFound, Unauthorized
from sodam.core.params import MAX_ID, IdPath
from sodam.db.session import session_scope
from sodam.realtime.hub import Subscriber, drain_to_socket, hub, next_text, refuse_socket

router = APIRouter(prefix="/api/v1", tags=["co-browsing"])
timeline.register()

CobrowseId = Annotated[int, Path(ge=1, le=MAX_ID)]
Manager = Annotated[Principal, Depends(api_access(Permission.cobrowse_manage, "read"))]
ManagerWrite = Annotated[Principal, Depends(api_access(Permission.cobrowse_manage, "write"))]
REQUEST_ERRORS = {
    409: {"description": "Turned off (`cobrowse_disabled`) or one pending/active (`cobrowse_in_progress`)."},
    422: {"description": "Not a chat-widget conversation (`cobrowse_unavailable`)."},
}


@router.post(
    "/conversations/{conversation_id}/cobrowse",
    summary="Ask the customer to share their page (co-browsing)",
    status_code=201,
    response_model=SessionOut,
    responses=REQUEST_ERRORS,
)
async def request_cobrowse(conversation_id: IdPath, principal: WritePrincipal, session: ApiSession):
    """The widget shows the customer a consent prompt; nothing is shared before they agree."""
    row = await service.request(
        session,
        workspace_id=principal.workspace_id,
        conversation_id=conversation_id,
        agent_id=principal.agent_id,
    )
    return session_out(row, "requested")


@router.get(
    "/conversations/{conversation_id}/cobrowse",
    summary="The conversation's co-browsing sessions (the log, newest first)",
    response_model=list[SessionOut],
)
async def list_cobrowse(conversation_id: IdPath, principal: ReadPrincipal, session: ApiSession):
    rows = await service.list_for_conversation(
        session, workspace_id=principal.workspace_id, conversation_id=conversation_id
    )
    return [session_out(r, service.current_status(r)) for r in rows]


@router.get("/cobrowse/sessions/{cobrowse_id}", summary="A co-browsing session", response_model=SessionOut)
async def get_cobrowse(cobrowse_id: CobrowseId, principal: ReadPrincipal, session: ApiSession):
    row = await service.get(session, workspace_id=principal.workspace_id, session_id=cobrowse_id)
    return session_out(row, service.current_status(row))


@router.post(
    "/cobrowse/sessions/{cobrowse_id}/stop",
    summary="Stop a co-browsing session (idempotent)",
    response_model=SessionOut,
)
async def stop_cobrowse(cobrowse_id: CobrowseId, principal: WritePrincipal, session: ApiSession):
    """The customer's widget stops recording at once and the mirrors close."""
    row = await service.get(session, workspace_id=principal.workspace_id, session_id=cobrowse_id)
    row = await service.end(session, row=row, by="agent", agent_id=principal.agent_id, reason="stopped")
    return session_out(row, service.current_status(row))


@router.get("/cobrowse/settings", summary="The workspace's co-browsing settings", response_model=SettingsOut)
async def get_settings(principal: Manager, session: ApiSession):
    return await service.get_settings(session, workspace_id=principal.workspace_id)


@router.put(
    "/cobrowse/settings",
    summary="Change the workspace's co-browsing settings",
    response_model=SettingsOut,
    responses={422: {"description": "A bad selector (`invalid_selector`, details.selector) or too many."}},
)
async def put_settings(body: SettingsIn, principal: ManagerWrite, session: ApiSession):
    return await service.update_settings(
        session, workspace_id=principal.workspace_id, enabled=body.enabled, mask_selectors=body.mask_selectors
    )


def _pointer(frame: dict[str, Any]) -> tuple[float, float] | None:
    x, y = frame.get("x"), frame.get("y")
    if not all(type(v) in (int, float) and math.isfinite(v) and 0 <= v <= 1_000_000 for v in (x, y)):
        return None
    return float(x), float(y)


@router.websocket("/cobrowse/sessions/{cobrowse_id}/stream")
async def mirror_socket(websocket: WebSocket, cobrowse_id: int) -> None:
    """The agent's live mirror: {"type": "events", "data": <base64 deflate of rrweb events>},
    {"type": "state", ...}. In: {"type": "pointer", "x", "y"} (document pixels; the customer
    sees a highlight there), {"type": "stop"}, ping. Never a click or a key: the mirror is
    read-only. Authenticated like /api/v1/realtime (cookie, ?ticket= or API token); close codes
    4401 unauthenticated, 4404 not a session of the agent's workspace, 4409 over.
    """
    principal = await authenticate_socket(websocket)
    if principal is None or not allows(principal.role, Permission.work):
        await refuse_socket(websocket, 4401, Unauthorized("sign in first", code="unauthorized"))
        return
    try:
        async with session_scope() as session:
            row = await service.get(session, workspace_id=principal.workspace_id, session_id=cobrowse_id)
            status = service.current_status(row)
    except NotFound as exc:
        await refuse_socket(websocket, 4404, exc)
        return
    if status not in ("requested", "active"):
        await websocket.accept()
        await websocket.send_text(json.dumps({"type": "state", "session_id": row.id, "state": status}))
        await websocket.close(code=4409)
        return
    await websocket.accept()
    subscriber = Subscriber(max_queue=2000)
    # Subscribe before reading the state again, so a change in between is not missed.
    hub.subscribe(subscriber, [relay.stream_topic(row.id)])
    writer = asyncio.create_task(drain_to_socket(websocket, subscriber))
    async with session_scope() as session:
        row = await service.get(session, workspace_id=principal.workspace_id, session_id=cobrowse_id)
        status = service.current_status(row)
    subscriber.offer({"type": "state", "session_id": row.id, "state": status, "ended_by": row.ended_by})
    if status == "active":
        await relay.ask_snapshot(row=row)
    pointers = relay.Bucket(relay.POINTERS_PER_S, relay.POINTERS_BURST)
    snapshots = relay.Bucket(0.2, 2)  # a fresh full snapshot at most every 5 s
    try:
        while (raw := await next_text(websocket)) is not None:
            if len(raw) > 1000:
                continue
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            kind = frame.get("type") if isinstance(frame, dict) else None
            if kind == "ping":
                subscriber.offer({"type": "pong"})
            elif kind == "pointer" and (at := _pointer(frame)) is not None and pointers.take():
                await relay.publish_pointer(row=row, x=at[0], y=at[1])
            elif kind == "snapshot" and snapshots.take():
                await relay.ask_snapshot(row=row)
            elif kind == "stop":
                async with session_scope() as session:
                    fresh = await service.get(session, workspace_id=row.workspace_id, session_id=row.id)
                    await service.end(
                        session, row=fresh, by="agent", agent_id=principal.agent_id, reason="stopped"
                    )
                    await session.commit()
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        subscriber.close()
        writer.cancel()
