"""The delivery worker: a loop (in every job-running process) that claims due deliveries with
SKIP LOCKED, sends them with a bounded number in flight, and records every try in batches.

Durability lives in `webhook_deliveries`: a claim moves the row's `next_attempt_at` ahead by a
lease, so a delivery whose worker died is taken again when the lease ends (the receiver sees
the same `id` and does nothing twice). Results are written a batch at a time (one transaction
for the tries, the deliveries and the subscriptions' failure counts), so 100,000 deliveries
cost a few hundred transactions rather than 300,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from sodam.config import Settings, get_settings
from sodam.db.session import raw_pool, session_scope
from sodam.webhooks import signing, ssrf

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "sodam_webhooks"
FLUSH_EVERY_S = 0.05
FAN_OUT_BATCH = 500
FLUSH_AT = 500
SNIPPET_BYTES = 500

CLAIM_SQL = """
WITH due AS (
    SELECT d.id FROM webhook_deliveries d
     WHERE d.status = 'pending' AND d.next_attempt_at <= now()
       AND EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = d.subscription_id AND s.status = 'active')
     ORDER BY d.next_attempt_at
     LIMIT %(n)s
     FOR UPDATE OF d SKIP LOCKED)
UPDATE webhook_deliveries d
   SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => %(lease)s)
  FROM due, webhook_subscriptions s
 WHERE d.id = due.id AND s.id = d.subscription_id
RETURNING d.id, d.workspace_id, d.subscription_id, d.event_id, d.event_type, d.body, d.attempts,
          d.max_attempts, s.url, s.secret
"""

INSERT_ATTEMPTS_SQL = """
INSERT INTO webhook_attempts (workspace_id, delivery_id, attempt, status_code, latency_ms, error,
                              response_snippet, created_at)
SELECT v.* FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::float8[], %s::text[],
                       %s::text[], %s::timestamptz[]) AS v(ws, delivery, attempt, code, ms, error, snippet, at)
 -- A delivery deleted meanwhile (its subscription was) keeps no tries.
 WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = v.delivery)
"""

# Only the claim that is still current may finish a delivery (a lease that ran out and was
# taken again belongs to the newer try).
UPDATE_DELIVERIES_SQL = """
UPDATE webhook_deliveries d
   SET status = v.status, next_attempt_at = v.next_at, last_status_code = v.code, last_error = v.error,
       delivered_at = CASE WHEN v.status = 'delivered' THEN v.at ELSE d.delivered_at END
  FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::timestamptz[], %s::int[], %s::text[], %s::timestamptz[])
       AS v(id, attempt, status, next_at, code, error, at)
 WHERE d.id = v.id AND d.attempts = v.attempt AND d.status = 'pending'
"""

UPDATE_SUBSCRIPTIONS_SQL = """
WITH v AS (SELECT * FROM unnest(%(ids)s::bigint[], %(resets)s::bool[], %(fails)s::int[]) AS v(id, reset, fails)),
old AS (SELECT s.id, s.status, CASE WHEN v.reset THEN v.fails ELSE s.consecutive_failures + v.fails END AS n
          FROM webhook_subscriptions s JOIN v ON v.id = s.id
         WHERE NOT (v.reset AND v.fails = 0 AND s.consecutive_failures = 0)
         ORDER BY s.id FOR UPDATE OF s)
UPDATE webhook_subscriptions s
   SET consecutive_failures = old.n,
       status = CASE WHEN old.status = 'active' AND old.n >= %(pause)s THEN 'paused' ELSE s.status END,
       paused_at = CASE WHEN old.status = 'active' AND old.n >= %(pause)s THEN now() ELSE s.paused_at END
  FROM old
 WHERE s.id = old.id
RETURNING s.id, s.workspace_id, old.status AS was, s.status, s.consecutive_failures
"""

DEFER_PAUSED_SQL = """
SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('default', 'webhooks.subscription_paused', 0, NULL, NULL,
       CAST(%s AS jsonb), NULL)::procrastinate_job_to_defer_v1])
"""


def retry_delay_s(attempt: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds before try `attempt + 1`: base * factor^(attempt-1), capped, +-25 % jitter."""
    raw = settings.webhook_retry_base_s * settings.webhook_retry_factor ** max(attempt - 1, 0)
    return min(raw, settings.webhook_retry_max_s) * (rng or random).uniform(0.75, 1.25)


@dataclass
class Claimed:
    id: int
    workspace_id: int
    subscription_id: int
    event_id: str
    event_type: str
    body: str
    attempt: int
    max_attempts: int
    url: str
    secret: str


@dataclass
class Result:
    claimed: Claimed
    status_code: int | None
    latency_ms: float
    error: str | None
    snippet: str | None
    at: datetime

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryWorker:
    """Claims, sends and records deliveries until cancelled."""

    def __init__(self, settings: Settings | None = None, *, client: httpx.AsyncClient | None = None):
        self.settings = settings or get_settings()
        self.concurrency = self.settings.webhook_concurrency
        self._client = client
        self._clients: list[httpx.AsyncClient] = []
        self._free: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        self._own_client = client is None
        self._inflight: set[asyncio.Task] = set()
        self._results: list[Result] = []
        self._wake = asyncio.Event()
        self._flushed = asyncio.Event()
        self._rng = random.Random()
        self.sent = 0
        # Name -> (addresses, checked at): a host is resolved again after a minute.
        self._dns: dict[tuple[str, int], tuple[list, float]] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        if self._client is None:
            # One client (one kept-alive connection) per send in flight, lent from a free list:
            # httpcore's pool does work per pooled connection on every request, which at a
            # hundred connections in one pool cost more CPU than the sends themselves. The TLS
            # context (the CA bundle) is loaded once and shared.
            tls = ssl.create_default_context()
            self._clients = [
                httpx.AsyncClient(
                    follow_redirects=False,
                    trust_env=False,
                    verify=tls,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    headers={"User-Agent": "Sodam-Webhooks/1"},
                )
                for _ in range(self.concurrency)
            ]
        else:
            self._clients = [self._client] * self.concurrency
        for client in self._clients:
            self._free.put_nowait(client)
        flusher = asyncio.create_task(self._flush_forever(), name="sodam-webhooks-flush")
        listener = asyncio.create_task(_listen_forever(self), name="sodam-webhooks-listen")
        fanner = asyncio.create_task(self._fan_out_forever(), name="sodam-webhooks-fan-out")
        try:
            while True:
                try:
                    busy = await self.step()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("webhook delivery loop failed; trying again", exc_info=True)
                    busy = False
                    await asyncio.sleep(1.0)
                if not busy:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)
        finally:
            listener.cancel()
            fanner.cancel()
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await flusher
            with contextlib.suppress(Exception):
                await self.flush()
            if self._own_client:
                for client in self._clients:
                    await client.aclose()
                self._clients = []

    async def step(self) -> bool:
        """Start what is due; True when there may be more right away."""
        free = self.concurrency - len(self._inflight)
        # Claim in batches (a quarter of the slots at least), not one row per finished send.
        if free < max(1, self.concurrency // 4):
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)
            return True
        rows = await self.claim(free)
        for row in rows:
            task = asyncio.create_task(self._send(row))
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return bool(rows)

    async def _fan_out_forever(self) -> None:
        """Turn outbox events into deliveries beside the sending (a batch at a time)."""
        while True:
            try:
                taken = await self.fan_out()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webhook fan-out failed; trying again", exc_info=True)
                taken = 0
            if taken:
                self._wake.set()
            if taken < FAN_OUT_BATCH:
                await asyncio.sleep(self.settings.webhook_poll_s)

    def _done(self, task: asyncio.Task) -> None:
        self._inflight.discard(task)
        if len(self._inflight) <= self.concurrency - max(1, self.concurrency // 4):
            self._wake.set()

    async def fan_out(self) -> int:
        from sodam.webhooks import events

        async with session_scope() as session:
            taken = await events.fan_out(session, limit=FAN_OUT_BATCH)
            if taken:
                await session.commit()
        return taken

    async def claim(self, n: int) -> list[Claimed]:
        pool = await raw_pool()
        lease = self.settings.webhook_timeout_s * 2 + 30
        async with pool.connection() as conn:
            cur = await conn.execute(CLAIM_SQL, {"n": n, "lease": lease})
            rows = await cur.fetchall()
        return [Claimed(*row) for row in rows]

    async def _allowed(self, url: str) -> str | None:
        try:
            host, port = ssrf.check_shape(url)
            cached = self._dns.get((host, port))
            if cached is None or time.monotonic() - cached[1] > 60:
                cached = (await ssrf.resolve(host, port), time.monotonic())
                self._dns[(host, port)] = cached
            if not cached[0]:
                return "host does not resolve"
            if any(not ssrf.address_allowed(a, self.settings.webhook_allow_networks) for a in cached[0]):
                return "address not allowed (loopback, private, link-local or reserved)"
        except Exception as exc:  # a malformed URL saved before a rule changed
            return f"URL refused: {exc}"[:300]
        return None

    async def _send(self, row: Claimed) -> None:
        started = time.perf_counter()
        code = snippet = error = None
        refused = await self._allowed(row.url)
        if refused:
            error = refused
        else:
            body = row.body.encode()
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                signing.SIGNATURE_HEADER: signing.header(row.secret, body),
                signing.ID_HEADER: row.event_id,
                signing.TYPE_HEADER: row.event_type,
            }
            client = self._free.get_nowait()  # never empty: sends in flight <= clients
            try:
                async with client.stream(
                    "POST", row.url, content=body, headers=headers, timeout=self.settings.webhook_timeout_s
                ) as response:
                    code = response.status_code
                    got = b""
                    async for chunk in response.aiter_bytes():
                        got += chunk
                        if len(got) >= SNIPPET_BYTES:
                            break
                    snippet = got[:SNIPPET_BYTES].decode("utf-8", "replace") or None
            except httpx.TimeoutException:
                error = f"timed out after {self.settings.webhook_timeout_s:g} s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
            finally:
                self._free.put_nowait(client)
        latency = (time.perf_counter() - started) * 1000
        self._results.append(Result(row, code, latency, error, snippet, datetime.now(UTC)))
        self.sent += 1
        if len(self._results) >= FLUSH_AT:
            self._flushed.set()

    async def _flush_forever(self) -> None:
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flushed.wait(), FLUSH_EVERY_S)
            self._flushed.clear()
            try:
                await self.flush()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:  # kept in memory; the next flush tries again
                failures += 1
                if failures >= 5:
                    # Give these results up: their leases run out and the deliveries are sent
                    # again with the same id (at least once, never lost).
                    log.warning(
                        "dropping %d webhook results after %d failed writes", len(self._results), failures
                    )
                    self._results = []
                    failures = 0
                else:
                    log.warning("could not record webhook results; trying again", exc_info=True)
                await asyncio.sleep(0.5)

    async def flush(self) -> int:
        """Record the results gathered so far in one transaction; returns how many."""
        if not self._results:
            return 0
        batch, self._results = self._results, []
        try:
            await self._record(batch)
        except BaseException:
            self._results = batch + self._results
            raise
        return len(batch)

    async def _record(self, batch: list[Result]) -> None:
        s = self.settings
        statuses, next_at = [], []
        per_sub: dict[int, list[bool]] = {}
        for r in batch:
            per_sub.setdefault(r.claimed.subscription_id, []).append(r.ok)
            if r.ok:
                statuses.append("delivered")
                next_at.append(r.at)
            elif r.claimed.attempt >= r.claimed.max_attempts:
                statuses.append("dead")
                next_at.append(r.at)
            else:
                statuses.append("pending")
                next_at.append(r.at + timedelta(seconds=retry_delay_s(r.claimed.attempt, s, self._rng)))
        ids, resets, fails = [], [], []
        for sub_id, outcomes in sorted(per_sub.items()):
            last_ok = max((i for i, ok in enumerate(outcomes) if ok), default=-1)
            ids.append(sub_id)
            resets.append(last_ok >= 0)
            fails.append(len(outcomes) - last_ok - 1)
        pool = await raw_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                INSERT_ATTEMPTS_SQL,
                (
                    [r.claimed.workspace_id for r in batch],
                    [r.claimed.id for r in batch],
                    [r.claimed.attempt for r in batch],
                    [r.status_code for r in batch],
                    [round(r.latency_ms, 3) for r in batch],
                    [r.error for r in batch],
                    [_clean(r.snippet) for r in batch],
                    [r.at for r in batch],
                ),
            )
            await conn.execute(
                UPDATE_DELIVERIES_SQL,
                (
                    [r.claimed.id for r in batch],
                    [r.claimed.attempt for r in batch],
                    statuses,
                    next_at,
                    [r.status_code for r in batch],
                    [r.error for r in batch],
                    [r.at for r in batch],
                ),
            )
            cur = await conn.execute(
                UPDATE_SUBSCRIPTIONS_SQL,
                {"ids": ids, "resets": resets, "fails": fails, "pause": s.webhook_pause_after},
            )
            for sub_id, workspace_id, was, now_status, failures in await cur.fetchall():
                if was == "active" and now_status == "paused":
                    log.warning("webhook subscription %d paused after %d failures in a row", sub_id, failures)
                    await conn.execute(
                        DEFER_PAUSED_SQL,
                        (
                            json.dumps(
                                {
                                    "workspace_id": workspace_id,
                                    "subscription_id": sub_id,
                                    "failures": failures,
                                }
                            ),
                        ),
                    )


def _clean(snippet: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; the column keeps 500 characters.
    return snippet.replace("\x00", "")[:SNIPPET_BYTES] if snippet else None


async def _listen(worker: DeliveryWorker) -> None:
    from sodam.db import session  # the same database as the pool

    conn = await psycopg.AsyncConnection.connect(session._raw_url, autocommit=True)
    try:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        async for _ in conn.notifies():
            worker.wake()
    finally:
        await conn.close()


async def _listen_forever(worker: DeliveryWorker) -> None:
    while True:
        try:
            await _listen(worker)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.debug("webhook LISTEN connection lost; polling until it is back", exc_info=True)
        await asyncio.sleep(2.0)


async def run_forever() -> None:
    """The loop `JobRunner` starts beside the job worker (serve's in-process one, `sodam worker`)."""
    await DeliveryWorker().run()
