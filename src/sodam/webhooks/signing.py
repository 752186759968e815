"""Signing a delivery and checking a signature (what docs/webhooks.md shows receivers).

Sodam-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>. The timestamp
is the try's, so a receiver refuses anything older than the replay window (5 minutes); the
body's `id` stays the same on every try, so a receiver that already processed it answers 2xx
and does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Sodam-Signature"
ID_HEADER = "Sodam-Webhook-Id"
TYPE_HEADER = "Sodam-Event-Type"
REPLAY_WINDOW_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    """A fresh signing secret (shown once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: str | bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of "{timestamp}.{body}"."""
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw, hashlib.sha256).hexdigest()


def header(secret: str, body: str | bytes, timestamp: int | None = None) -> str:
    """The Sodam-Signature header value for this body, now."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, body, t)}"


def verify(
    secret: str, body: bytes, value: str, *, now: float | None = None, window_s: int = REPLAY_WINDOW_S
) -> bool:
    """Whether a Sodam-Signature header is valid for this body and recent enough."""
    parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > window_s:
        return False
    return hmac.compare_digest(signature(secret, body, t), parts.get("v1", ""))
