"""TOTP (RFC 6238) codes and one-time recovery codes: the pure parts of two-factor sign-in.

The database side (which agent has which secret, which codes are used) is in
accounts/twofactor.py; this module only makes and checks codes.
"""

from __future__ import annotations

import secrets
import time

import pyotp
import segno

from sodam.core.security import hash_token

ISSUER = "Sodam"
PERIOD_S = 30
# One step either side: a phone clock 30 s off still signs in.
VALID_WINDOW = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, interval=PERIOD_S).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no image request, nothing leaves the page)."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#1f2933", light="#ffffff")


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step a 6-digit code belongs to (within the window), or None when it is wrong."""
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=PERIOD_S)
    at = time.time() if now is None else now
    current = int(at // PERIOD_S)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.at(step * PERIOD_S), digits):
            return step
    return None


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes shown once, like "k7pq-x2mz-h4rt" (about 65 bits each)."""
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
        for _ in range(count)
    ]


def normalise_recovery_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.lower() if ch.isalnum())
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


def recovery_code_hash(code: str) -> str:
    # High-entropy random codes: a plain hash is enough (no dictionary to try).
    return hash_token(normalise_recovery_code(code))
