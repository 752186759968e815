"""KakaoTalk dealer events in: `sodam bench kakao [--events N --clients C]`.

A private database (migrated), one workspace with a KakaoTalk inbox, and C concurrent callers
taking N signed dealer events (messages from N/4 users, some 상담 opens) plus 10 % redeliveries
of an event already taken (same serial_number), each exactly as the endpoint does: the
signature checked, then `inbound.take` in its own transaction. Each event is timed from the
signature check to the commit. Then the database is counted; and the reply splitter is timed
on a 10,000-character answer.

The last line is one JSON object: events, events_per_s, take_p50_ms, take_p99_ms, stored
(messages: must equal the distinct message events), duplicates (must be 0), lost (must be 0),
split_ms_10k.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time

import psycopg

from bench.common import console, private_database, server_version


def _events(n: int, sender_key: str, rng: random.Random) -> tuple[list[dict], int]:
    users = [f"user-{i}" for i in range(max(1, n // 4))]
    out = []
    for i in range(n):
        kind = "open" if rng.random() < 0.1 else "message"
        body = {
            "serial_number": f"s-{i}",
            "type": kind,
            "user_key": rng.choice(users),
            "sender_key": sender_key,
        }
        if kind == "message":
            body["content"] = {
                "text": rng.choice(["배송 언제 오나요?", "환불 문의드립니다", "주문번호 A-1001입니다"])
            }
        out.append(body)
    distinct_messages = sum(1 for e in out if e["type"] == "message")
    out += [rng.choice(out[: max(1, n)]) for _ in range(n // 10)]
    rng.shuffle(out)
    return out, distinct_messages


async def _run(url: str, n: int, clients: int) -> dict:
    from sodam.accounts import service as accounts
    from sodam.channels import service as inboxes
    from sodam.channels.models import ChannelType
    from sodam.db.session import dispose_engine, init_engine, session_scope
    from sodam.kakao import inbound, service
    from sodam.webhooks import signing

    init_engine(url, pool_size=clients + 2)
    try:
        async with session_scope() as session:
            ws = await accounts.create_workspace(session, name="Bench 카카오", slug="bench-kakao")
            inbox = await inboxes.create(
                session,
                workspace_id=ws.id,
                name="카카오톡",
                channel_type=ChannelType.api,
                settings={"auto_assign": False, "auto_reply": False},
            )
            channel, secret = await service.connect(
                session,
                workspace_id=ws.id,
                inbox_id=inbox.id,
                sender_key="bench-sender",
                dealer_url="http://127.0.0.1:9",
                dealer_api_key="k",
            )
            await session.commit()
            inbox_id = inbox.id
        events, distinct = _events(n, "bench-sender", random.Random(7))
        raw = [json.dumps(e, ensure_ascii=False).encode() for e in events]
        queue = list(range(len(raw)))
        times: list[float] = []

        async def worker():
            while queue:
                i = queue.pop()
                header = signing.header(secret, raw[i])
                started = time.perf_counter()
                if not signing.verify(secret, raw[i], header):
                    raise RuntimeError("signature refused")
                async with session_scope() as session:
                    found = await service.channel_for_events(session, inbox_id=inbox_id)
                    await inbound.take(session, channel=found, event=json.loads(raw[i]))
                    await session.commit()
                times.append(time.perf_counter() - started)

        console.print(
            f"taking {len(raw):,} dealer events ({distinct:,} distinct messages) with {clients} callers"
        )
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    finally:
        await dispose_engine()
    with psycopg.connect(url) as conn:
        stored, unique_ids = conn.execute(
            "SELECT count(*), count(DISTINCT client_id) FROM messages WHERE inbox_id = %s", (inbox_id,)
        ).fetchone()
    from sodam.kakao.rules import split_text

    answer = "주문하신 상품은 오늘 출발합니다. " * 530
    t0 = time.perf_counter()
    for _ in range(100):
        split_text(answer)
    split_ms = (time.perf_counter() - t0) * 10
    times.sort()
    return {
        "events": len(raw),
        "events_per_s": round(len(raw) / elapsed, 1),
        "take_p50_ms": round(statistics.median(times) * 1000, 1),
        "take_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 1),
        "stored": stored,
        "duplicates": stored - unique_ids,
        "lost": distinct - unique_ids,
        "split_ms_10k": round(split_ms, 3),
    }


def main(*, events: int = 2000, clients: int = 8) -> None:
    from sodam.db.migrate import upgrade

    with private_database() as db:
        upgrade(db.url)
        console.print(f"PostgreSQL {server_version(db.url)} ({db.kind})")
        figures = asyncio.run(_run(db.url, events, clients))
    for key, value in figures.items():
        console.print(f"{key:>15}: {value}")
    print(json.dumps(figures))
