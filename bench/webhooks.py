"""Webhook delivery under a flaky receiver: `sodam bench webhooks [--events N]`.

N events (new contacts: the `contact.created` trigger writes the outbox, as in production)
are fanned out into deliveries and sent by the delivery worker (sodam.webhooks.worker, the
same loop `sodam serve` and `sodam worker` run) to a receiver on loopback, in its own
process, that answers 500 to 10 % of requests and never answers 1 % (the worker's timeout
fires; the receiver had processed the event, as a slow real one would). The receiver checks
every signature and dedupes by the event id, as docs/webhooks.md asks receivers to; it also
counts logical events (the contact id inside) processed twice under different ids.

Reports: `delivered` (distinct events processed; must equal the events), `lost` (0),
`duplicates_processed` (0), `events_per_s` (from the first insert to the last delivery
recorded), `delivery_p99_ms` (request round trip of first-try successes, from the attempts
table), plus the end-to-end p50/p99 (event committed -> delivery recorded) of first-try
successes. Prints a table, then as the LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import time

from bench.common import bench_database, console, free_port, percentile, server_version

SECRET = "whsec_bench_" + "x" * 20


# --------------------------------------------------------------------------- the receiver


def _receiver_main(port: int, fail_rate: float, hang_rate: float, hang_s: float, ready) -> None:
    stats = {
        "requests": 0,
        "answered_500": 0,
        "hung": 0,
        "bad_signatures": 0,
        "duplicates_received": 0,
        "duplicates_processed": 0,
    }
    processed_ids: set[str] = set()
    processed_events: set[int] = set()
    rng = random.Random(1234)

    def verify(body: bytes, header: str) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(","))
        expected = hmac.new(SECRET.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return (
            hmac.compare_digest(expected, parts.get("v1", "")) and abs(time.time() - int(parts["t"])) <= 300
        )

    def process(body: bytes) -> None:
        event = json.loads(body)
        if event["id"] in processed_ids:  # the receiver's dedupe, by the idempotency key
            stats["duplicates_received"] += 1
            return
        processed_ids.add(event["id"])
        seq = event["data"]["contact"]["id"]
        if seq in processed_events:  # the same event under another id: dedupe could not help
            stats["duplicates_processed"] += 1
        processed_events.add(seq)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if head.startswith(b"GET /stats"):
                    reply = json.dumps(
                        {**stats, "processed": len(processed_ids), "events": len(processed_events)}
                    )
                    writer.write(f"HTTP/1.1 200 OK\r\ncontent-length: {len(reply)}\r\n\r\n{reply}".encode())
                    await writer.drain()
                    continue
                stats["requests"] += 1
                if not verify(body, headers.get("sodam-signature", "t=0")):
                    stats["bad_signatures"] += 1
                    writer.write(b"HTTP/1.1 401 X\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                roll = rng.random()
                if roll < hang_rate:
                    stats["hung"] += 1
                    process(body)  # done, but the answer never comes
                    await asyncio.sleep(hang_s)
                    return
                if roll < hang_rate + fail_rate:
                    stats["answered_500"] += 1
                    writer.write(b"HTTP/1.1 500 X\r\ncontent-length: 4\r\n\r\nboom")
                else:
                    process(body)
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def _stats(port: int) -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /stats HTTP/1.1\r\ncontent-length: 0\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
    body = await reader.readexactly(length)
    writer.close()
    return json.loads(body)


# --------------------------------------------------------------------------- the run


async def _run(url: str, events: int, port: int, batch: int) -> dict:
    from sqlalchemy import text

    from sodam.accounts import service as accounts
    from sodam.config import get_settings
    from sodam.db.session import dispose_engine, init_engine, raw_pool, session_scope
    from sodam.webhooks.models import Subscription
    from sodam.webhooks.worker import DeliveryWorker

    settings = get_settings()
    init_engine(url, pool_size=8)
    try:
        async with session_scope() as session:
            ws = await accounts.create_workspace(session, name="Bench", slug="bench-webhooks")
            sub = Subscription(
                workspace_id=ws.id,
                url=f"http://127.0.0.1:{port}/hooks",
                secret=SECRET,
                events=["contact.created"],
                description="bench",
                status="active",
                consecutive_failures=0,
            )
            session.add(sub)
            await session.commit()
            workspace_id, sub_id = ws.id, sub.id
        worker = DeliveryWorker(settings)
        running = asyncio.create_task(worker.run())
        pool = await raw_pool()
        started = time.perf_counter()
        for start in range(0, events, batch):
            n = min(batch, events - start)
            async with pool.connection() as conn:
                await conn.execute(
                    "INSERT INTO contacts (workspace_id, name, custom_attributes, created_at, updated_at)"
                    " SELECT %s, '고객 ' || g, '{}'::jsonb, now(), now() FROM generate_series(%s::int, %s::int) g",
                    (workspace_id, start + 1, start + n),
                )
        published_s = time.perf_counter() - started
        last_report = 0.0
        while True:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'dead'),"
                    " count(*) FROM webhook_deliveries WHERE subscription_id = %s",
                    (sub_id,),
                )
                delivered_rows, dead_rows, rows = await cur.fetchone()
                cur = await conn.execute("SELECT count(*) FROM webhook_outbox")
                (outbox,) = await cur.fetchone()
            if delivered_rows + dead_rows >= events and outbox == 0:
                break
            now = time.perf_counter() - started
            if now - last_report >= 5:
                last_report = now
                console.print(
                    f"  {now:6.1f} s: {rows:,} deliveries, {delivered_rows:,} delivered, {dead_rows} dead,"
                    f" {outbox:,} events waiting in the outbox"
                )
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        async with session_scope() as session:
            first_try = (
                await session.execute(
                    text(
                        "SELECT a.latency_ms, extract(epoch FROM d.delivered_at - c.created_at) * 1000"
                        " FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
                        " JOIN contacts c ON 'evt_contact' || c.id = d.event_id"
                        " WHERE d.subscription_id = :s AND a.attempt = 1 AND a.status_code BETWEEN 200 AND 299"
                    ),
                    {"s": sub_id},
                )
            ).all()
            tries = (
                await session.execute(
                    text(
                        "SELECT count(*), count(*) FILTER (WHERE error LIKE 'timed out%'),"
                        " max(attempt) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
                        " WHERE d.subscription_id = :s"
                    ),
                    {"s": sub_id},
                )
            ).one()
        received = await _stats(port)
        round_trips = sorted(float(r[0]) for r in first_try)
        end_to_end = sorted(float(r[1]) for r in first_try)
        return {
            "events": events,
            "delivered": received["events"],
            "duplicates_processed": received["duplicates_processed"],
            "lost": events - received["events"],
            "events_per_s": round(events / elapsed),
            "delivery_p99_ms": round(percentile(round_trips, 0.99), 2),
            "delivery_p50_ms": round(percentile(round_trips, 0.5), 2),
            "end_to_end_p50_ms": round(percentile(end_to_end, 0.5), 1),
            "end_to_end_p99_ms": round(percentile(end_to_end, 0.99), 1),
            "first_try_successes": len(round_trips),
            "requests": received["requests"],
            "answered_500": received["answered_500"],
            "timed_out": int(tries[1]),
            "duplicates_received": received["duplicates_received"],
            "bad_signatures": received["bad_signatures"],
            "tries_recorded": int(tries[0]),
            "most_tries": int(tries[2] or 0),
            "dead_lettered": int(dead_rows),
            "db_delivered": int(delivered_rows),
            "seconds": round(elapsed, 1),
            "publish_seconds": round(published_s, 1),
            "concurrency": settings.webhook_concurrency,
            "timeout_s": settings.webhook_timeout_s,
        }
    finally:
        await dispose_engine()


def main(
    events: int = 100_000,
    concurrency: int = 128,
    timeout_s: float = 2.0,
    fail_rate: float = 0.10,
    hang_rate: float = 0.01,
    batch: int = 5_000,
) -> dict:
    from rich.table import Table

    from sodam.db.migrate import upgrade

    # The delivery worker's settings for this run: a short timeout (the 1 % of hanging requests
    # hold a slot this long), quick retries, loopback allowed, no pausing.
    os.environ.update(
        {
            "SODAM_WEBHOOK_CONCURRENCY": str(concurrency),
            "SODAM_WEBHOOK_TIMEOUT_S": str(timeout_s),
            "SODAM_WEBHOOK_RETRY_BASE_S": "0.5",
            "SODAM_WEBHOOK_RETRY_FACTOR": "2",
            "SODAM_WEBHOOK_MAX_ATTEMPTS": "8",
            "SODAM_WEBHOOK_PAUSE_AFTER": "1000000",
            "SODAM_WEBHOOK_POLL_S": "0.2",
            "SODAM_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1/32",
        }
    )
    from sodam.config import get_settings

    get_settings.cache_clear()
    port = free_port()
    ready = multiprocessing.Event()
    receiver = multiprocessing.Process(
        target=_receiver_main, args=(port, fail_rate, hang_rate, timeout_s * 3, ready), daemon=True
    )
    receiver.start()
    try:
        if not ready.wait(10):
            raise SystemExit("the receiver did not start")
        with bench_database() as (url, where):
            upgrade(url)
            version = server_version(url)
            console.print(
                f"webhooks: {events:,} events, receiver fails 10 %, hangs 1 %; PostgreSQL {version} ({where})"
            )
            result = asyncio.run(_run(url, events, port, batch))
    finally:
        receiver.terminate()
        receiver.join(5)
    table = Table(title="webhook delivery")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    print(json.dumps({"postgres": version, "where": where, **result}))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    main(events=args.events, concurrency=args.concurrency, timeout_s=args.timeout)
