"""SLA costs: what the SLA trigger adds to the message path, a due-time recompute, and the
business-hours arithmetic.

.venv/bin/python -m bench.sla [--messages 2000]

The message path is measured A/B in one private database: customer messages stored one
transaction each through sodam_post_message, in alternating rounds with the `messages_sla`
trigger enabled and disabled (the trigger's cost is one primary-key look-up per customer
message). The recompute is `sla.clocks.recompute` for conversations with replies, in business
hours across 설날 2027. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from bench.common import bench_database, percentile

POST = (
    "SELECT sodam_post_message(%(ws)s, %(inbox)s, %(contact)s, %(conv)s, 'contact'::sender_type, %(contact)s,"
    " 'text'::message_kind, %(content)s, %(cid)s, NULL, 'ko', '[]'::jsonb, 140)"
)
KR = {
    "timezone": "Asia/Seoul",
    "days": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holiday_country": "KR",
}


async def _seed(url: str, conversations: int) -> tuple[int, int, list[tuple[int, int]]]:
    from sodam.accounts import service as accounts
    from sodam.channels import service as inboxes
    from sodam.contacts import service as contacts
    from sodam.conversations import service as convs
    from sodam.conversations.models import SenderType
    from sodam.db.session import dispose_engine, init_engine, session_scope
    from sodam.sla import service as sla

    init_engine(url, pool_size=2)
    try:
        async with session_scope() as session:
            ws = await accounts.create_workspace(session, name="SLA bench", slug="sla-bench")
            agent = await accounts.create_agent(
                session, workspace_id=ws.id, email="a@sla.bench", name="상담원", password=secrets.token_hex(8)
            )
            inbox = await inboxes.create(
                session, workspace_id=ws.id, name="웹", settings={"business_hours": KR}
            )
            await sla.seed_default(session, workspace_id=ws.id)
            pairs = []
            for i in range(conversations):
                contact = await contacts.create(session, workspace_id=ws.id, name=f"고객{i}", email=None)
                conv = await convs.create(
                    session, workspace_id=ws.id, inbox_id=inbox.id, contact_id=contact.id
                )
                await convs.create_message(
                    session,
                    conversation=conv,
                    content="문의",
                    sender_type=SenderType.contact,
                    sender_id=contact.id,
                )
                await convs.create_message(
                    session,
                    conversation=conv,
                    content="답변",
                    sender_type=SenderType.agent,
                    sender_id=agent.id,
                )
                pairs.append((conv.id, contact.id))
            await session.commit()
            return ws.id, inbox.id, pairs
    finally:
        await dispose_engine()


async def _recompute_ms(url: str, ids: list[int]) -> list[float]:
    from sqlalchemy import text

    from sodam.db.session import dispose_engine, init_engine, session_scope
    from sodam.sla import clocks

    init_engine(url, pool_size=2)
    out = []
    try:
        async with session_scope() as session:
            await session.execute(
                text("UPDATE conversations SET queued_at = :at"),
                {"at": datetime(2027, 2, 5, 17, 0, tzinfo=ZoneInfo("Asia/Seoul"))},
            )
            await session.commit()
        for cid in ids:
            async with session_scope() as session:
                start = time.perf_counter()
                await clocks.recompute(session, conversation_id=cid)
                await session.commit()
                out.append((time.perf_counter() - start) * 1000)
    finally:
        await dispose_engine()
    return out


def _message_path(url: str, ws: int, inbox: int, pairs, messages: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"on": [], "off": []}
    rounds = 10
    per_round = max(1, messages // (2 * rounds))
    with psycopg.connect(url, autocommit=True) as conn:
        # Every conversation waits for the customer's next message (the trigger's one UPDATE
        # then matches nothing but the first time: the common case on a busy path).
        n = 0
        for r in range(rounds):
            for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
                conn.execute(
                    f"ALTER TABLE messages {'ENABLE' if mode == 'on' else 'DISABLE'} TRIGGER messages_sla"
                )
                for _ in range(per_round):
                    conv, contact = pairs[n % len(pairs)]
                    n += 1
                    start = time.perf_counter()
                    conn.execute(
                        POST,
                        {
                            "ws": ws,
                            "inbox": inbox,
                            "contact": contact,
                            "conv": conv,
                            "content": "배송 문의드립니다",
                            "cid": f"b{n}",
                        },
                    )
                    times[mode].append((time.perf_counter() - start) * 1000)
        conn.execute("ALTER TABLE messages ENABLE TRIGGER messages_sla")
    return times


def _arithmetic_us() -> dict[str, float]:
    from sodam.channels import hours

    start = datetime(2027, 2, 5, 17, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    hours.add_business_seconds(KR, start, 3600)
    out = {}
    for name, call in (
        (
            "add_business_seconds_40h_us",
            lambda i: hours.add_business_seconds(KR, start + timedelta(minutes=i), 144000),
        ),
        (
            "business_seconds_30d_us",
            lambda i: hours.business_seconds_between(
                KR, start + timedelta(minutes=i), start + timedelta(days=30)
            ),
        ),
        ("is_open_us", lambda i: hours.is_open(KR, start + timedelta(minutes=i))),
    ):
        t = time.perf_counter()
        for i in range(2000):
            call(i)
        out[name] = round((time.perf_counter() - t) / 2000 * 1e6, 1)
    return out


def main(messages: int = 2000, conversations: int = 200) -> None:
    from sodam.db.migrate import upgrade

    with bench_database() as (url, kind):
        upgrade(url)
        ws, inbox, pairs = asyncio.run(_seed(url, conversations))
        recompute = asyncio.run(_recompute_ms(url, [c for c, _ in pairs]))
        times = _message_path(url, ws, inbox, pairs, messages)
    arithmetic = _arithmetic_us()
    on, off = times["on"], times["off"]
    result = {
        "bench": "sla",
        "database": kind,
        "messages_per_mode": len(on),
        "post_message_trigger_on_ms": {
            "p50": round(percentile(on, 0.5), 3),
            "p99": round(percentile(on, 0.99), 3),
            "mean": round(statistics.mean(on), 3),
        },
        "post_message_trigger_off_ms": {
            "p50": round(percentile(off, 0.5), 3),
            "p99": round(percentile(off, 0.99), 3),
            "mean": round(statistics.mean(off), 3),
        },
        "recompute_ms": {
            "p50": round(percentile(recompute, 0.5), 2),
            "p99": round(percentile(recompute, 0.99), 2),
        },
        **arithmetic,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(
        f"message path, trigger on : p50 {result['post_message_trigger_on_ms']['p50']} ms, p99 {result['post_message_trigger_on_ms']['p99']} ms"
    )
    print(
        f"message path, trigger off: p50 {result['post_message_trigger_off_ms']['p50']} ms, p99 {result['post_message_trigger_off_ms']['p99']} ms"
    )
    print(
        f"recompute (business hours, 설날): p50 {result['recompute_ms']['p50']} ms, p99 {result['recompute_ms']['p99']} ms"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=200)
    args = parser.parse_args()
    main(args.messages, args.conversations)
