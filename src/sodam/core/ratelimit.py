"""Rate limits shared by every process: GCRA buckets in PostgreSQL, one round trip per check.

Why GCRA rather than fixed windows: one row per key (a single timestamp, no window rows
to create and purge), no doubled burst at a window boundary, refused requests cost the
caller nothing, and Retry-After is exact. Why PostgreSQL: every `sodam serve` process
already shares it; the `limits` library keeps counters only in memory, Redis/Valkey,
Memcached or MongoDB. The check is `sodam_rate_hit()` (migration 0009) on the hot path's
autocommit pool: its own tiny transaction on an UNLOGGED table, never part of the
request's transaction (whose rollback would undo the count, and whose row lock would
serialise requests with the same key until commit). The clock is the database's, so
every process agrees on it.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import ip_address, ip_network
from typing import Any

from starlette.requests import HTTPConnection

from sodam.config import Settings, get_settings
from sodam.core.errors import AppError
from sodam.db.group_commit import GroupCommitter
from sodam.db.session import raw_pool, warm_raw_connections

log = logging.getLogger(__name__)

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
PERIODS |= {"d": 86400, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")

# Every limit, by name (settings attribute `rate_limit_<name>`).
RULES = (
    "widget_session_ip",
    "widget_session_inbox",
    "widget_message_visitor",
    "widget_message_ip",
    "widget_read_ip",
    "helpcenter_search_ip",
    "helpcenter_vote_ip",
    "api_token",
    "login_ip",
)
# The ones a workspace may override (sign-in happens before any workspace is known).
WORKSPACE_RULES = RULES[:-1]
MAX_LIMIT = 1_000_000
MAX_PERIOD_S = 86_400

STATE_KEY = "rate_limit"  # request.state: the last decision, for the X-RateLimit-* headers


@dataclass(frozen=True)
class Rate:
    limit: int
    period_s: float

    def __str__(self) -> str:
        return f"{self.limit}/{self.period_s:g}s"


@lru_cache(maxsize=256)
def parse_rate(text: str) -> Rate:
    """'60/minute', '5/10s', '1000/hour' -> Rate."""
    match = _RATE_RE.match(text.lower())
    if not match or match.group(3) not in PERIODS:
        raise ValueError(f"not a rate: {text!r} (use e.g. 60/minute or 5/10s)")
    count, multiple, unit = match.groups()
    limit, period = int(count), int(multiple or 1) * PERIODS[unit]
    if not (1 <= limit <= MAX_LIMIT and 1 <= period <= MAX_PERIOD_S):
        raise ValueError(f"rate out of range: {text!r}")
    return Rate(limit, float(period))


def default_rate(settings: Settings, rule: str) -> Rate:
    """The configured (SODAM_RATE_LIMIT_*) rate of a rule."""
    return parse_rate(getattr(settings, f"rate_limit_{rule}"))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    period_s: float
    remaining: int
    retry_after_s: float
    reset_s: float

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait (never 0 for a refusal: 'Retry-After: 0' invites a hot loop)."""
        return max(1, math.ceil(self.retry_after_s)) if not self.allowed else 0

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_s)),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimited(AppError):
    """429 with Retry-After; `details` says how long and which limit."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, decision: Decision, *, rule: str, message: str | None = None):
        wait = decision.retry_after
        super().__init__(
            message or f"too many requests: try again in {wait} s",
            details={
                "retry_after": wait,
                "limit": decision.limit,
                "period_s": decision.period_s,
                "rule": rule,
            },
        )
        self.decision = decision
        self.headers = {"Retry-After": str(wait)}


_HIT_SQL = (
    "SELECT allowed, rule_limit, period_s, remaining, retry_after_s, reset_s"
    " FROM sodam_rate_hit(%s, %s, %s, %s, %s, %s, %s)"
)


def bucket_key(rule: str, subject: str, workspace_id: int | None) -> str:
    return f"{rule}:{workspace_id or '-'}:{subject}"


async def hit(
    *,
    rule: str,
    subject: str,
    rate: Rate,
    workspace_id: int | None = None,
    cost: int = 1,
    now: float | None = None,
) -> Decision:
    """Count one request of `subject` against `rule` (the workspace's override of it, if any)."""
    params = (
        bucket_key(rule, subject, workspace_id),
        rule,
        workspace_id,
        rate.limit,
        rate.period_s,
        cost,
        now,
    )
    pool = await raw_pool()
    async with pool.connection() as conn:
        row = await (await conn.execute(_HIT_SQL, params, prepare=True)).fetchone()
    return Decision(*row)


async def hit_all(
    checks: list[tuple[str, str, Rate]], *, workspace_id: int | None = None, now: float | None = None
) -> list[Decision]:
    """Several (rule, subject, rate) checks of one request, in order, stopping at the first
    refusal. Checks arriving while another batch is under way share the next statement
    (db/group_commit.py), so under load a check costs a fraction of a round trip."""
    return await _checker().run(
        {
            "keys": [bucket_key(rule, subject, workspace_id) for rule, subject, _ in checks],
            "rules": [rule for rule, _, _ in checks],
            "workspace_id": workspace_id,
            "limits": [rate.limit for _, _, rate in checks],
            "periods": [rate.period_s for _, _, rate in checks],
            "now": now,
        }
    )


_BATCH_SQL = (
    "SELECT json_agg(json_build_array(allowed, rule_limit, period_s, remaining, retry_after_s, reset_s)"
    " ORDER BY idx) FROM sodam_rate_hit_many(%s::int[], %s::text[], %s::text[], %s::bigint[], %s::int[],"
    " %s::float8[], %s::float8[]) GROUP BY caller ORDER BY caller"
)


def _batch_statement(batch: list[Any]) -> tuple[str, Any]:
    callers, keys, rules, workspaces, limits, periods, nows = [], [], [], [], [], [], []
    for n, params in enumerate(batch):
        for i, key in enumerate(params["keys"]):
            callers.append(n)
            keys.append(key)
            rules.append(params["rules"][i])
            workspaces.append(params["workspace_id"])
            limits.append(params["limits"][i])
            periods.append(params["periods"][i])
            nows.append(params["now"])
    return _BATCH_SQL, (callers, keys, rules, workspaces, limits, periods, nows)


async def _warm_up(conn) -> None:
    """The batch check on a new raw connection (its caller rolls the bucket back)."""
    check = {
        "keys": ["warm-up"],
        "rules": ["warm-up"],
        "workspace_id": None,
        "limits": [1],
        "periods": [1],
        "now": None,
    }
    await conn.execute(*_batch_statement([check]))


warm_raw_connections(_warm_up)


def _decisions(row: tuple[Any, ...]) -> list[Decision]:
    return [Decision(*values) for values in row[0]]


_checkers: dict[int, GroupCommitter] = {}


def _checker() -> GroupCommitter:
    """One batcher per event loop (tests run apps on several loops; production has one)."""
    import asyncio

    loop_id = id(asyncio.get_running_loop())
    checker = _checkers.get(loop_id)
    if checker is None:
        checker = _checkers[loop_id] = GroupCommitter(
            raw_pool, _batch_statement, prepare=_decisions, max_batch=128, max_in_flight=2
        )
    return checker


async def purge() -> int:
    """Delete the buckets whose every token is back (they mean the same as no row)."""
    pool = await raw_pool()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM rate_limit_buckets WHERE tat < extract(epoch FROM clock_timestamp())"
        )
        return cur.rowcount


def settings_of(conn: HTTPConnection) -> Settings:
    return getattr(conn.app.state, "settings", None) or get_settings()


async def enforce(
    conn: HTTPConnection,
    *checks: tuple[str, str],
    workspace_id: int | None = None,
    message: str | None = None,
) -> Decision | None:
    """Count this request against each (rule, subject), in order, in one round trip; raise
    RateLimited (429) at the first one over its limit. None when limits are turned off."""
    settings = settings_of(conn)
    if not settings.rate_limits_enabled:
        return None
    clock = getattr(conn.app.state, "clock", None)  # tests may set one; else the database's clock
    decisions = await hit_all(
        [(rule, subject, default_rate(settings, rule)) for rule, subject in checks],
        workspace_id=workspace_id,
        now=clock().timestamp() if clock is not None else None,
    )
    last = decisions[-1]
    tightest = last if not last.allowed else min(decisions, key=lambda d: d.remaining)
    conn.scope.setdefault("state", {})[STATE_KEY] = tightest
    if not last.allowed:
        raise RateLimited(last, rule=checks[len(decisions) - 1][0], message=message)
    return tightest


@lru_cache(maxsize=16)
def _networks(spec: str) -> tuple[Any, ...]:
    nets = []
    for part in spec.replace(";", ",").split(","):
        if part.strip():
            nets.append(ip_network(part.strip(), strict=False))
    return tuple(nets)


def _trusted(host: str, nets: tuple[Any, ...]) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in nets)


def client_ip(conn: HTTPConnection) -> str:
    """The caller's address: the peer's, or, when the peer is a trusted proxy
    (SODAM_TRUSTED_PROXIES), the right-most X-Forwarded-For hop that is not itself trusted.
    Hops left of an untrusted one could be forged by the client, so they are never read."""
    peer = conn.client.host if conn.client else "-"
    nets = _networks(settings_of(conn).trusted_proxies)
    if not nets or not _trusted(peer, nets):
        return peer
    hops = [hop.strip() for value in conn.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            return peer  # a malformed chain: do not guess
        if not _trusted(hop, nets):
            return hop
    return hops[0] if hops else peer
