"""ASGI middleware: request size limit and the widget's origin-restricted CORS."""

from __future__ import annotations

import json

from sodam.audit import context as audit_context
from sodam.channels import service as inboxes
from sodam.core.errors import AppError, error_body
from sodam.core.ratelimit import STATE_KEY
from sodam.db.session import session_scope


async def _send_json(send, status: int, body: dict, headers: list | None = None) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": payload})


class AuditScope:
    """Each HTTP request gets its own audit scope (client IP, user agent); the principal
    dependencies fill in the actor. Reset afterwards, so nothing leaks into the next request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = scope.get("client")
        user_agent = dict(scope.get("headers") or []).get(b"user-agent", b"").decode("latin-1")
        with audit_context.scope(ip=client[0] if client else None, user_agent=user_agent):
            await self.app(scope, receive, send)


class BodySizeLimit:
    """413 for bodies over the limit, whether announced by Content-Length or streamed.

    File uploads (POST to a path ending in /attachments or /avatar) have their own, higher
    ceiling; the route then holds them to the workspace's limit with its own clear error."""

    UPLOAD_SUFFIXES = ("/attachments", "/avatar")

    def __init__(self, app, max_bytes: int, upload_max_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        upload = scope["method"] == "POST" and scope["path"].rstrip("/").endswith(self.UPLOAD_SUFFIXES)
        max_bytes = self.upload_max_bytes if upload else self.max_bytes
        too_large = error_body(
            "request_too_large",
            f"the request body is over {max_bytes} bytes",
            {"max_bytes": max_bytes},
        )
        if length is not None and length.isdigit() and int(length) > max_bytes:
            return await _send_json(send, 413, too_large)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _send_json(send, 413, too_large)


class _TooLarge(Exception):
    pass


class RateLimitHeaders:
    """X-RateLimit-Limit / -Remaining / -Reset on API responses, from the request's last
    rate-limit decision (sodam.core.ratelimit.enforce leaves it in the request state)."""

    PREFIX = "/api/"

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.PREFIX):
            return await self.app(scope, receive, send)

        async def send_with_limits(message):
            decision = (scope.get("state") or {}).get(STATE_KEY)
            if message["type"] == "http.response.start" and decision is not None:
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in decision.headers().items()
                    if name != "Retry-After"  # the 429 itself carries it
                ]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_limits)


class WidgetCors:
    """CORS for /widget/v1/{inbox_token}/...: only the inbox's allowed origins may call it."""

    PREFIX = "/widget/v1/"

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.PREFIX):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode() or None
        token = scope["path"][len(self.PREFIX) :].split("/", 1)[0]
        try:
            async with session_scope() as session:
                inbox = await inboxes.get_by_public_token(session, public_token=token)
        except AppError as exc:
            return await _send_json(send, exc.status_code, exc.body(), _cors_headers(origin))
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        own = inboxes.own_origin(scheme, {"host": headers.get(b"host", b"").decode("latin-1")})
        allowed = inboxes.origin_allowed(inbox, origin, own_origin=own)
        if origin is not None and not allowed:
            return await _send_json(
                send,
                403,
                error_body(
                    "origin_not_allowed", "this site may not use this inbox's widget", {"origin": origin}
                ),
            )
        # Handed to the route (channels.widget.inbox_for) so it is not looked up twice.
        scope.setdefault("state", {})["widget_inbox"] = inbox
        cors = _cors_headers(origin) if origin else []
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": cors})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message):
            if message["type"] == "http.response.start" and cors:
                message = {**message, "headers": list(message.get("headers", [])) + cors}
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _cors_headers(origin: str | None) -> list:
    if not origin:
        return []
    return [
        (b"access-control-allow-origin", origin.encode()),
        (b"vary", b"Origin"),
        (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
        (b"access-control-allow-headers", b"content-type, x-sodam-visitor"),
        (b"access-control-max-age", b"600"),
        (b"access-control-expose-headers", b"Retry-After"),
    ]
