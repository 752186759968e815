"""A campaign to N contacts through the API channel: `sodam bench campaigns [--contacts N]`.

N contacts of an API inbox (each with its identity there) form a segment; a campaign to it
runs at 10,000 messages/s (batches of 1,000: claim, open the conversations, store every
message through the message path, queue the inbox's callback deliveries — one transaction a
batch) while the delivery worker (sodam.webhooks.worker, as `sodam serve` runs it) POSTs them
to a receiver on loopback, in its own process, that records when each contact's message
arrived and dedupes by the event id.

Reports: `messages_per_s` (contacts / seconds from the campaign's start until its last batch
committed), `delivery_p99_s` (from the campaign's start to a contact's message arriving at the
receiver, 99th percentile), `lost` (contacts whose message never arrived: 0), `duplicates`
(contacts whose message was processed more than once: 0), and more. Prints a table, then as
the LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import time

from bench.common import bench_database, console, free_port, percentile, server_version

SECRET = "whsec_bench_" + "c" * 20


def _receiver_main(port: int, ready) -> None:
    arrivals: dict[int, float] = {}  # contact id -> first arrival (epoch seconds)
    seen_ids: set[str] = set()
    stats = {"requests": 0, "duplicates_received": 0, "duplicates": 0}

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
                        {**stats, "arrivals": list(arrivals.values()), "contacts": len(arrivals)}
                    )
                    writer.write(
                        f"HTTP/1.1 200 OK\r\ncontent-length: {len(reply)}\r\n\r\n".encode() + reply.encode()
                    )
                    await writer.drain()
                    continue
                now = time.time()
                stats["requests"] += 1
                event = json.loads(body)
                if event["id"] in seen_ids:  # a redelivery: answered, not processed again
                    stats["duplicates_received"] += 1
                else:
                    seen_ids.add(event["id"])
                    contact = event["data"]["contact"]["id"]
                    if contact in arrivals:  # the same contact under another event id: a double send
                        stats["duplicates"] += 1
                    else:
                        arrivals[contact] = now
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


async def _run(url: str, contacts: int, port: int, rate: int, wait_s: float) -> dict:
    from sqlalchemy import text

    from sodam.accounts import service as accounts
    from sodam.campaigns import send
    from sodam.campaigns import service as campaigns
    from sodam.channels import service as inboxes
    from sodam.config import get_settings
    from sodam.db.session import dispose_engine, init_engine, raw_pool, session_scope
    from sodam.jobs.app import load_task_modules
    from sodam.segments import service as segments
    from sodam.webhooks.models import Subscription
    from sodam.webhooks.worker import DeliveryWorker

    load_task_modules()
    settings = get_settings()
    init_engine(url, pool_size=8)
    try:
        async with session_scope() as session:
            ws = await accounts.create_workspace(
                session, name="Bench", slug=f"bench-campaigns-{int(time.time())}"
            )
            inbox = await inboxes.create(
                session, workspace_id=ws.id, name="SMS", channel_type="api", settings={"auto_reply": False}
            )
            session.add(
                Subscription(
                    workspace_id=ws.id,
                    inbox_id=inbox.id,
                    url=f"http://127.0.0.1:{port}/hooks",
                    secret=SECRET,
                    events=[],
                    description="bench",
                    status="active",
                    consecutive_failures=0,
                )
            )
            await session.flush()
            workspace_id, inbox_id = ws.id, inbox.id
        pool = await raw_pool()
        seeded = time.perf_counter()
        for start in range(0, contacts, 10_000):
            n = min(10_000, contacts - start)
            async with pool.connection() as conn:
                await conn.execute(
                    "WITH c AS (INSERT INTO contacts (workspace_id, name, language, custom_attributes, created_at,"
                    " updated_at) SELECT %s, '고객 ' || g, CASE WHEN g %% 5 = 0 THEN 'en' ELSE 'ko' END, '{}'::jsonb,"
                    " now(), now() FROM generate_series(%s::int, %s::int) g RETURNING id)"
                    " INSERT INTO contact_identities (workspace_id, contact_id, channel_type, external_id, created_at)"
                    " SELECT %s, id, 'api', %s || ':user-' || id, now() FROM c",
                    (workspace_id, start + 1, start + n, workspace_id, str(inbox_id)),
                )
        seed_s = time.perf_counter() - seeded
        async with session_scope() as session:
            segment = await segments.create(
                session, workspace_id=workspace_id, name="everyone", filter={"all": []}
            )
            campaign = await campaigns.create(
                session,
                workspace_id=workspace_id,
                created_by=None,
                name="bench",
                segment_id=segment.id,
                inbox_id=inbox_id,
                channel="api",
                body_ko="{name}님, 새 기능을 소개합니다: https://example.com/new",
                body_en="Hi {name}, meet our new feature: https://example.com/new",
                rate_per_s=rate,
            )
            campaign.status = "running"
            cid = campaign.id
        worker = DeliveryWorker(settings)
        delivering = asyncio.create_task(worker.run())
        t0_epoch, t0 = time.time(), time.perf_counter()
        state = await send.run(cid, budget_s=3600)
        sent_s = time.perf_counter() - t0
        last_report = 0.0
        received: dict = {}
        while time.perf_counter() - t0 < sent_s + wait_s:
            received = await _stats(port)
            if received["contacts"] >= contacts:
                break
            now = time.perf_counter() - t0
            if now - last_report >= 5:
                last_report = now
                console.print(f"  {now:6.1f} s: {received['contacts']:,} of {contacts:,} delivered")
            await asyncio.sleep(0.2)
        delivered_s = time.perf_counter() - t0
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)
        received = await _stats(port)
        async with session_scope() as session:
            stats = await campaigns.stats(
                session, campaign=await campaigns.get(session, workspace_id=workspace_id, campaign_id=cid)
            )
            doubled = await session.scalar(
                text(
                    "SELECT count(*) FROM (SELECT contact_id FROM conversations WHERE inbox_id = :i"
                    " GROUP BY contact_id HAVING count(*) > 1) d"
                ),
                {"i": inbox_id},
            )
        latencies = sorted(a - t0_epoch for a in received["arrivals"])
        return {
            "contacts": contacts,
            "state": state,
            "sent": stats["sent"],
            "messages_per_s": round(stats["sent"] / sent_s),
            "delivered_per_s": round(received["contacts"] / delivered_s),
            "delivery_p50_s": round(percentile(latencies, 0.5), 2),
            "delivery_p99_s": round(percentile(latencies, 0.99), 2),
            "lost": contacts - received["contacts"],
            "duplicates": int(received["duplicates"]) + int(doubled or 0),
            "redeliveries": received["duplicates_received"],
            "requests": received["requests"],
            "send_seconds": round(sent_s, 1),
            "seconds": round(delivered_s, 1),
            "seed_seconds": round(seed_s, 1),
            "rate_per_s": rate,
            "batch": min(rate, send.MAX_BATCH),
            "webhook_concurrency": settings.webhook_concurrency,
        }
    finally:
        await dispose_engine()


def main(
    contacts: int = 100_000,
    rate: int = 10_000,
    concurrency: int = 128,
    wait_s: float = 300.0,
    events: int = 1_000_000,
    rules: int = 50,
) -> dict:
    from rich.table import Table

    from sodam.db.migrate import upgrade

    os.environ.update(
        {
            "SODAM_WEBHOOK_CONCURRENCY": str(concurrency),
            "SODAM_WEBHOOK_POLL_S": "0.2",
            "SODAM_WEBHOOK_PAUSE_AFTER": "1000000",
            "SODAM_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1/32",
            "SODAM_PUBLIC_URL": "https://sodam.example",
        }
    )
    from sodam.config import get_settings

    get_settings.cache_clear()
    port = free_port()
    ready = multiprocessing.Event()
    receiver = multiprocessing.Process(target=_receiver_main, args=(port, ready), daemon=True)
    receiver.start()
    try:
        if not ready.wait(10):
            raise SystemExit("the receiver did not start")
        with bench_database() as (url, where):
            upgrade(url)
            version = server_version(url)
            console.print(
                f"campaigns: {contacts:,} contacts through the API channel; PostgreSQL {version} ({where})"
            )
            result = asyncio.run(_run(url, contacts, port, rate, wait_s))
    finally:
        receiver.terminate()
        receiver.join(5)
    table = Table(title="campaign to a segment (API channel)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    if events:
        # The second figure: domain events through the automation rules (bench/automations.py).
        from bench import automations

        matched = automations.main(events=events, rules=rules)
        result = {**result, "events": events, "rules": rules, "rule_eval_p99_ms": matched["rule_eval_p99_ms"]}
    print(json.dumps({"postgres": version, "where": where, **result}))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=10_000)
    args = parser.parse_args()
    main(contacts=args.contacts, rate=args.rate)
