"""`call` frames on the agents' socket (/api/v1/realtime) and the widget's (/widget/v1/…/ws).

    {"type": "call", "action": "invite", "conversation_id": N, "kind": "video"|"voice"[, "call_id": N]}  agent
    {"type": "call", "action": "request", "kind": "video"|"voice"}                                 customer
    {"type": "call", "action": "accept"|"decline"|"end", "call_id": N[, "reason": "failed"]}       both
    {"type": "call", "action": "signal", "call_id": N, "data": {"sdp": {...}} | {"candidate": {...}}}
    {"type": "call", "action": "media", "call_id": N, "muted": bool, "camera": bool, "screen": bool}
    {"type": "call", "action": "alive", "call_id": N}   both, every 20 s while connected

Who may send what is decided here, from the socket's own credentials: a customer only for a
call of their own conversation (this inbox, this contact), an agent only in their workspace,
for a call they are on (or a request no agent took yet), with the `calls` permission. Signal
and media frames are rebuilt from checked fields (size-limited) and go to the other party of
that call only; a refusal is an error frame to the sender alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sodam.accounts.permissions import Permission, allows
from sodam.calls import delivery, service
from sodam.calls.models import WebCall
from sodam.channels.models import Inbox
from sodam.core.deps import Principal
from sodam.core.errors import AppError, Forbidden, Invalid, NotFound
from sodam.db.session import session_scope

log = logging.getLogger(__name__)
Reply = Callable[[dict[str, Any]], None]

MAX_SDP_CHARS = 16_000
MAX_CANDIDATE_CHARS = 1_000
MAX_MID_CHARS = 64
# Signal frames one party may send in one call, per process (a call needs a few dozen).
MAX_SIGNALS_PER_CALL = 400
_signals: dict[tuple[int, str], int] = {}
_SIGNALS_KEEP = 10_000


def _id(value: Any) -> int:
    if type(value) is not int or not 0 < value < 2**62:
        raise Invalid("call_id must be a positive integer", code="invalid_call_id")
    return value


def clean_signal(data: Any) -> dict[str, Any]:
    """An SDP description or an ICE candidate, rebuilt from its checked fields (else 422)."""
    if not isinstance(data, dict):
        raise Invalid("data must be an object with sdp or candidate", code="invalid_signal")
    if "sdp" in data:
        sdp = data["sdp"]
        if (
            not isinstance(sdp, dict)
            or sdp.get("type") not in ("offer", "answer")
            or not isinstance(sdp.get("sdp"), str)
            or not 0 < len(sdp["sdp"]) <= MAX_SDP_CHARS
        ):
            raise Invalid(
                f"sdp needs type offer|answer and at most {MAX_SDP_CHARS} characters", code="invalid_signal"
            )
        return {"sdp": {"type": sdp["type"], "sdp": sdp["sdp"]}}
    if "candidate" in data:
        c = data["candidate"]
        if c is None:  # the end of candidates
            return {"candidate": None}
        mid, index = (c.get("sdpMid"), c.get("sdpMLineIndex")) if isinstance(c, dict) else (None, None)
        if (
            not isinstance(c, dict)
            or not isinstance(c.get("candidate"), str)
            or len(c["candidate"]) > MAX_CANDIDATE_CHARS
            or not (mid is None or (isinstance(mid, str) and len(mid) <= MAX_MID_CHARS))
            or not (index is None or (type(index) is int and 0 <= index < 64))
        ):
            raise Invalid(
                "candidate needs a short candidate string, sdpMid and sdpMLineIndex", code="invalid_signal"
            )
        return {"candidate": {"candidate": c["candidate"], "sdpMid": mid, "sdpMLineIndex": index}}
    raise Invalid("data must be an object with sdp or candidate", code="invalid_signal")


def clean_media(frame: dict[str, Any]) -> dict[str, bool]:
    return {key: frame.get(key) is True for key in ("muted", "camera", "screen")}


def _count_signal(call_id: int, sender: str) -> None:
    key = (call_id, sender)
    _signals[key] = _signals.get(key, 0) + 1
    while len(_signals) > _SIGNALS_KEEP:
        del _signals[next(iter(_signals))]
    if _signals[key] > MAX_SIGNALS_PER_CALL:
        raise Invalid("too many signalling frames for this call", code="too_many_signals")


def _error(exc: AppError, frame: dict[str, Any]) -> dict[str, Any]:
    call_id = frame.get("call_id")
    return {
        "type": "call",
        "action": "error",
        "call_id": call_id if type(call_id) is int else None,
        "for": str(frame.get("action"))[:20],
        **exc.body(),
    }


async def _relay(call: WebCall, sender: str, frame: dict[str, Any]) -> None:
    """A signal or media frame, to the other party of this live call only."""
    if call.status != "active":
        raise Invalid("the call is not connected", code="call_not_active")
    topic = delivery.peer_topic(call, sender)
    if topic is None:
        raise Invalid("the call has no agent yet", code="call_not_active")
    if frame["action"] == "signal":
        _count_signal(call.id, sender)
        out = {
            "type": "call",
            "action": "signal",
            "call_id": call.id,
            "data": clean_signal(frame.get("data")),
        }
    else:
        out = {"type": "call", "action": "media", "call_id": call.id, **clean_media(frame)}
    await delivery.send_now([topic], out)


async def _customer_call(session, inbox: Inbox, contact_id: int, call_id: int, *, lock: bool) -> WebCall:
    """The call, if it is this customer's (same inbox, same contact); 404 otherwise."""
    call = await service.get(session, workspace_id=inbox.workspace_id, call_id=call_id, lock=lock)
    if call.inbox_id != inbox.id or call.contact_id != contact_id:
        raise NotFound("call not found")
    return call


async def on_visitor_frame(inbox: Inbox, contact_id: int, frame: dict[str, Any], reply: Reply) -> None:
    action = frame.get("action")
    try:
        async with session_scope() as session:
            if action == "request":
                await service.request(session, inbox=inbox, contact_id=contact_id, kind=frame.get("kind"))
                await session.commit()
                return
            call_id = _id(frame.get("call_id"))
            if action == "alive":
                call = await _customer_call(session, inbox, contact_id, call_id, lock=False)
                await service.alive(session, call=call)
                await session.commit()
                return
            if action in ("signal", "media"):
                call = await _customer_call(session, inbox, contact_id, call_id, lock=False)
                await _relay(call, "contact", frame)
                return
            call = await _customer_call(session, inbox, contact_id, call_id, lock=True)
            await _transition(session, call, frame, by="contact")
            await session.commit()
    except AppError as exc:
        reply(_error(exc, frame))
    except Exception:
        log.exception("call frame failed")
        reply(_error(AppError("the call frame failed", code="call_failed"), frame))


async def _transition(
    session, call: WebCall, frame: dict[str, Any], *, by: str, agent_id: int | None = None
) -> None:
    """accept / decline / end from either side (the call is locked by the caller)."""
    action = frame.get("action")
    if action == "accept":
        await service.accept(session, call=call, by=by, agent_id=agent_id)
    elif action == "decline":
        await service.decline(session, call=call, by=by)
    elif action == "end":
        await service.finish(session, call=call, by=by, outcome=_reason(frame))
    else:
        raise Invalid("unknown call action", code="unknown_action")


def _reason(frame: dict[str, Any]) -> str | None:
    return "failed" if frame.get("reason") == "failed" else None


async def on_agent_frame(principal: Principal, frame: dict[str, Any], reply: Reply) -> None:
    action = frame.get("action")
    try:
        if principal.agent_id is None or not allows(principal.role, Permission.calls):
            raise Forbidden("your role does not allow calls", code="permission_required")
        agent_id = principal.agent_id
        async with session_scope() as session:
            if action == "invite":
                conversation_id = frame.get("conversation_id")
                if type(conversation_id) is not int or not 0 < conversation_id < 2**62:
                    raise Invalid(
                        "conversation_id must be a positive integer", code="invalid_conversation_id"
                    )
                scheduled = frame.get("call_id")
                await service.invite(
                    session,
                    workspace_id=principal.workspace_id,
                    conversation_id=conversation_id,
                    agent_id=agent_id,
                    kind=frame.get("kind"),
                    call_id=_id(scheduled) if scheduled is not None else None,
                )
                await session.commit()
                return
            call_id = _id(frame.get("call_id"))
            lock = action not in ("signal", "media", "alive")
            call = await service.get(session, workspace_id=principal.workspace_id, call_id=call_id, lock=lock)
            # An agent acts on a call they are on; anyone (with the permission) may answer a request.
            if call.agent_id != agent_id and not (action in ("accept", "decline") and call.agent_id is None):
                raise NotFound("call not found")
            if action == "alive":
                await service.alive(session, call=call)
                await session.commit()
                return
            if not lock:
                await _relay(call, "agent", frame)
                return
            await _transition(session, call, frame, by="agent", agent_id=agent_id)
            await session.commit()
    except AppError as exc:
        reply(_error(exc, frame))
    except Exception:
        log.exception("call frame failed")
        reply(_error(AppError("the call frame failed", code="call_failed"), frame))


def install() -> None:
    """Take the `call` frames of both sockets and deliver call frames in this process (idempotent)."""
    from sodam.channels import widget_socket
    from sodam.conversations import live

    widget_socket.FRAME_HANDLERS["call"] = on_visitor_frame
    live.frame_handlers["call"] = on_agent_frame
    delivery.install()
