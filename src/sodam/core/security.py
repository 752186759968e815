"""Passwords (argon2), opaque tokens, signed tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# The test suite hashes a password for every workspace it makes and verifies one at every
# sign-in: SODAM_INSECURE_FAST_PASSWORD_HASHING=1 (set only by tests/conftest.py) uses argon2id
# at its smallest cost there. Hashes carry their own parameters, so either setting verifies
# the other's hashes; a server started with it says so in its log.
if os.environ.get("SODAM_INSECURE_FAST_PASSWORD_HASHING") == "1":
    logging.getLogger(__name__).warning(
        "SODAM_INSECURE_FAST_PASSWORD_HASHING=1: passwords are hashed for tests, not for production"
    )
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
else:
    _hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so timing does not reveal which agents exist.
_DUMMY_HASH = _hasher.hash("sodam-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> tuple[str, str, str]:
    """Return (token shown once, prefix for lookup/display, sha256 hash stored)."""
    raw = "sdm_" + secrets.token_urlsafe(32)
    return raw, raw[:12], hash_token(raw)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Signer:
    """Signed, timestamped payloads (visitor tokens, session cookies)."""

    def __init__(self, secret_key: str, salt: str):
        self._serializer = URLSafeTimedSerializer(secret_key, salt=salt)

    def dumps(self, payload: Any) -> str:
        return self._serializer.dumps(payload)

    def loads(self, token: str, *, max_age: int | None = None) -> Any | None:
        try:
            return self._serializer.loads(token, max_age=max_age)
        except BadSignature:
            return None

    def loads_checking_age(self, token: str, *, max_age: int) -> tuple[Any | None, bool]:
        """(payload, expired): the payload of a genuine token younger than max_age; for a
        genuine but older one (None, True); for anything else (None, False)."""
        try:
            return self._serializer.loads(token, max_age=max_age), False
        except SignatureExpired:
            return None, True
        except BadSignature:
            return None, False
