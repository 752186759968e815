"""The voice webhook a Twilio-compatible provider posts to (form-encoded, signed).

POST /voice/v1/{inbox public token}/{step}: the inbox's public token names the line (an
id, not a secret); the request is authenticated by X-Twilio-Signature with the line's auth
token (signature.py), 403 otherwise. Each (CallSid, step) is answered once: a retry gets the
stored TwiML back and changes nothing (the steps of one call are serialised by a lock).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.config import get_settings
from sodam.core.deps import get_session
from sodam.core.errors import Forbidden, Invalid, NotFound
from sodam.voice import flow, service, signature

router = APIRouter(prefix="/voice/v1", include_in_schema=False)
XML = "application/xml"
MAX_ATTEMPT = 9


def signed_url(request: Request) -> str:
    """The URL the provider signed: SODAM_PUBLIC_URL (behind a proxy) + path + query."""
    public = get_settings().public_url
    if not public:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public.rstrip("/") + request.url.path + query


def hook_base(request: Request, token: str) -> str:
    return get_settings().request_base_url(request) + f"/voice/v1/{token}"


def _attempt(request: Request) -> int:
    raw = request.query_params.get("attempt") or "1"
    return min(int(raw), MAX_ATTEMPT) if raw.isdigit() and raw != "0" else 1


@router.post("/{inbox_token}/{step:path}")
async def webhook(
    inbox_token: str,
    step: str,
    request: Request,
    session: AsyncSession = Depends(get_session, scope="function"),
):
    inbox, line = await service.line_by_token(session, public_token=inbox_token)
    form = await request.form()
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if not signature.valid(
        line.auth_token, signed_url(request), items, request.headers.get("x-twilio-signature")
    ):
        raise Forbidden("the request's X-Twilio-Signature does not match", code="invalid_signature")
    params = dict(items)
    call_sid = (params.get("CallSid") or "").strip()
    if not call_sid or len(call_sid) > 64:
        raise Invalid("CallSid is required", code="call_sid_required")
    await service.lock_call(session, inbox_id=inbox.id, call_sid=call_sid)
    # The step: its URL, and what the caller did there (a key, a recording, a status).
    key = f"{step}?{request.url.query}#" + "|".join(
        params.get(name, "")
        for name in ("Digits", "RecordingUrl", "CallStatus", "DialCallStatus", "QueueResult")
    )
    stored = await service.answered_step(session, inbox_id=inbox.id, call_sid=call_sid, step=key)
    if stored is not None:
        return Response(stored, media_type=XML)
    now = datetime.now(UTC)
    call = await service.start_call(
        session,
        inbox=inbox,
        call_sid=call_sid,
        from_number=params.get("From") or "",
        to_number=params.get("To") or "",
        language=(line.ivr or {}).get("language") or "ko",
        direction="outbound" if (params.get("Direction") or "").startswith("outbound") else "inbound",
        now=now,
    )
    ctx = flow.Step(session, inbox, line, call, hook_base(request, inbox_token), params, now)
    if step == "incoming":
        twiml = await flow.incoming(ctx)
    elif step.startswith("menu/"):
        twiml = await flow.menu(ctx, step.removeprefix("menu/"), _attempt(request))
    elif step == "closed":
        twiml = await flow.closed(ctx, _attempt(request))
    elif step == "callback":
        twiml = await flow.callback(ctx, request.query_params.get("slot") or "")
    elif step == "voicemail":
        twiml = await flow.voicemail(ctx)
    elif step == "dialed":
        twiml = await flow.dialed(ctx)
    elif step == "enqueued":
        twiml = await flow.enqueued(ctx)
    elif step == "status":
        twiml = await flow.status(ctx)
    else:
        raise NotFound("unknown voice step", code="unknown_step")
    body = str(twiml)
    await session.flush()
    await service.remember_step(session, inbox=inbox, call_sid=call_sid, step=key, response=body)
    return Response(body, media_type=XML)
