"""Console sign-in throttling, per account and per IP: growing delays, then a temporary lock.

Every attempt is counted *before* the password is checked (sodam_login_attempt, migration
0009, one round trip on its own short transaction), so a burst of parallel guesses cannot
all get in before the first failure is written; a success gives the attempt back. While a
key waits or is locked the answer is an immediate 429 with Retry-After and the password is
not even checked: the right password is refused too. Accounts are keyed by a hash of the
e-mail as typed, so an unknown address is throttled exactly like a real one (nothing tells
them apart) and no attempted address is stored in clear.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import HTTPConnection

from sodam.config import Settings
from sodam.db.session import raw_pool


def now_of(conn: HTTPConnection) -> datetime | None:
    """The app's clock when one is set (`app.state.clock`, for tests); None: the database's."""
    clock = getattr(conn.app.state, "clock", None)
    return clock() if clock is not None else None


def account_key(email: str) -> str:
    return "acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def ip_key(ip: str) -> str:
    return "ip:" + ip


@dataclass(frozen=True)
class Attempt:
    """The verdict on one sign-in attempt, before the password is checked."""

    allowed: bool
    locked: bool = False
    retry_after_s: float = 0.0
    account_failures: int = 0  # this attempt included, when allowed

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.retry_after_s))


async def begin_attempt(*, settings: Settings, email: str, ip: str, now: datetime | None = None) -> Attempt:
    """Count an attempt for the account and the IP, or refuse it (locked / must wait)."""
    keys = [account_key(email), ip_key(ip)]
    pool = await raw_pool()
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT allowed, locked, retry_after_s, failures FROM sodam_login_attempt("
                "%s, %s, %s, %s, %s, %s, %s)",
                (
                    keys,
                    [settings.login_delay_after, settings.login_ip_delay_after],
                    [settings.login_lock_after, settings.login_ip_lock_after],
                    float(settings.login_lock_s),
                    float(settings.login_max_delay_s),
                    float(settings.login_failure_window_s),
                    now,
                ),
            )
        ).fetchone()
    allowed, locked, wait, failures = row
    return Attempt(
        allowed=allowed, locked=locked, retry_after_s=wait, account_failures=failures[0] if failures else 0
    )


async def attempt_succeeded(*, settings: Settings, email: str, ip: str) -> None:
    """The password was right: the account starts afresh and the IP gets its attempt back."""
    pool = await raw_pool()
    async with pool.connection() as conn:
        await conn.execute(
            "SELECT sodam_login_succeeded(%s, %s, %s, %s)",
            (
                account_key(email),
                [ip_key(ip)],
                [settings.login_ip_delay_after],
                [settings.login_ip_lock_after],
            ),
        )


def locks_now(settings: Settings, attempt: Attempt) -> bool:
    """This (failed) attempt is the one that locks the account (not a later re-lock)."""
    return attempt.account_failures == settings.login_lock_after


def is_locked_after(settings: Settings, attempt: Attempt) -> bool:
    return attempt.account_failures >= settings.login_lock_after


async def purge(*, window_s: int) -> int:
    """Forget counters that are no longer locked and whose last attempt is out of the window."""
    pool = await raw_pool()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM login_throttles WHERE (locked_until IS NULL OR locked_until < now())"
            " AND (last_failure_at < now() - make_interval(secs => %s)"
            " OR (failures = 0 AND last_failure_at < now() - interval '1 hour'))",
            (float(window_s),),
        )
        return cur.rowcount
