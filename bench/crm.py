"""The customer in full at scale: `sodam bench crm [--contacts N] [--messages M]`.

Builds a private database with 100,000 contacts (tier and account value attributes), their
conversations on two inboxes (a few each, skewed: some contacts have dozens), 1,000,000
messages with the stored sentiment scores of customer messages, the status changes of the
resolved conversations, 50,000 survey answers (CSAT, NPS, CES) and a visit page for a third
of the contacts — loaded with COPY. Then times, for random contacts, the screen pop
(`crm.screen_pop.summary`) and the first page of the timeline (`crm.timeline.page`) as the
API calls them: the statement, its round trip and building the answer (server time, no HTTP).

Then saves realistic segments (attribute + activity + survey score + sentiment combinations,
`SEGMENTS`) and times their live counts (`segments.service.count`, one statement each, as
`GET /api/v1/segments/{id}/count` runs it), round-robin.

Prints the figures; the last line is one JSON object: screen_pop_p50_ms, screen_pop_p99_ms,
timeline_p50_ms, timeline_p99_ms, segment_count_p50_ms, segment_count_p99_ms (and each
segment's count and p99).
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg

from bench.common import SAMPLES, console, private_database, seed, server_version

DAYS = 720
TIERS = ("VIP", "Gold", "Silver", "Basic", None)
SEGMENT_ROUNDS = 25  # counts per segment

# Segments a support team would save: (name, filter).
SEGMENTS = [
    (
        "VIP at risk",
        {
            "all": [
                {"field": "tier", "op": "in", "value": ["VIP", "Gold"]},
                {"field": "csat", "op": "lte", "value": 2},
            ]
        },
    ),
    (
        "Unhappy and active",
        {
            "all": [
                {"field": "sentiment", "op": "is", "value": "negative"},
                {"field": "conversations", "op": "gte", "value": 1, "days": 90},
            ]
        },
    ),
    (
        "Valuable detractors",
        {
            "all": [
                {"field": "nps", "op": "lte", "value": 6},
                {"field": "attribute", "key": "account_value", "op": "gt", "value": 1_000_000},
            ]
        },
    ),
    (
        "Dormant VIPs",
        {
            "all": [
                {"field": "tier", "op": "eq", "value": "VIP"},
                {"field": "last_seen", "op": "not_within_days", "value": 90},
            ]
        },
    ),
    (
        "Needs attention (any)",
        {
            "any": [
                {"field": "csat", "op": "lte", "value": 2},
                {"field": "sentiment", "op": "lte", "value": -0.5},
                {"field": "open_conversation", "op": "is", "value": True},
            ]
        },
    ),
    (
        "English, busy, negative",
        {
            "all": [
                {"field": "language", "op": "in", "value": ["en"]},
                {"field": "conversations", "op": "gte", "value": 3, "days": 365},
                {
                    "any": [
                        {"field": "sentiment", "op": "is", "value": "negative"},
                        {"field": "ces", "op": "gte", "value": 5},
                    ]
                },
            ]
        },
    ),
    ("Negative last interaction", {"all": [{"field": "sentiment", "op": "is", "value": "negative"}]}),
    (
        "Big accounts seen this month",
        {
            "all": [
                {"field": "attribute", "key": "account_value", "op": "gte", "value": 4_000_000},
                {"field": "last_seen", "op": "within_days", "value": 30},
            ]
        },
    ),
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _load(
    url: str, ws_id: int, inboxes: list[int], agent_id: int, contacts: int, messages: int, answers: int, rng
):
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        c0 = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM contacts").fetchone()[0]
        created = [now - timedelta(days=rng.random() * DAYS) for _ in range(contacts)]
        with console.status(f"copying {contacts:,} contacts"):
            with cur.copy(
                "COPY contacts (id, workspace_id, name, email, company, language, custom_attributes, created_at,"
                " updated_at) FROM STDIN"
            ) as copy:
                for i in range(contacts):
                    tier = rng.choice(TIERS)
                    attrs = {"tier": tier, "account_value": rng.randrange(0, 5_000_000)} if tier else {}
                    copy.write_row(
                        (
                            c0 + i,
                            ws_id,
                            f"고객 {i}",
                            f"c{i}@bench.test",
                            f"회사 {i % 997}",
                            rng.choice(("ko", "ko", "en")),
                            json.dumps(attrs),
                            created[i],
                            created[i],
                        )
                    )
        # Conversations: about 2 per contact on average, Pareto-skewed (a few have dozens).
        n_conv = max(contacts, messages // 5)
        owners = [
            int(contacts * (rng.paretovariate(1.2) - 1) / 8) % contacts
            if rng.random() < 0.3
            else rng.randrange(contacts)
            for _ in range(n_conv)
        ]
        counts = [1] * n_conv
        for _ in range(messages - n_conv):
            counts[rng.randrange(n_conv)] += 1
        v0 = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM conversations").fetchone()[0]
        starts, statuses = [], []
        with console.status(f"copying {n_conv:,} conversations"):
            with cur.copy(
                "COPY conversations (id, workspace_id, inbox_id, contact_id, status, priority, tags, last_seq,"
                " last_message_at, last_message_preview, created_at, updated_at) FROM STDIN"
            ) as copy:
                for k in range(n_conv):
                    owner = owners[k]
                    start = created[owner] + timedelta(
                        days=rng.random() * max(1.0, (now - created[owner]).days)
                    )
                    start = min(start, now - timedelta(minutes=3 * counts[k] + 1))
                    status = "resolved" if rng.random() < 0.85 else rng.choice(("open", "pending"))
                    starts.append(start)
                    statuses.append(status)
                    last = start + timedelta(minutes=3 * counts[k])
                    copy.write_row(
                        (
                            v0 + k,
                            ws_id,
                            rng.choice(inboxes),
                            c0 + owner,
                            status,
                            "none",
                            "{}",
                            counts[k],
                            last,
                            rng.choice(SAMPLES)[:140],
                            start,
                            last,
                        )
                    )
        m0 = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM messages").fetchone()[0]
        # Scored messages keep their conversation's sentiment by a row trigger (one recount per
        # message: right for the sentiment job, slow for a million-row COPY): off during the
        # COPY, then the same figures computed set-based (migration 0023).
        conn.execute("ALTER TABLE messages DISABLE TRIGGER messages_sentiment_insert")
        with console.status(f"copying {messages:,} messages"):
            with cur.copy(
                "COPY messages (id, workspace_id, conversation_id, inbox_id, seq, direction, kind, sender_type,"
                " sender_id, content, sentiment_score, sentiment_label, created_at) FROM STDIN"
            ) as copy:
                mid = m0
                for k in range(n_conv):
                    for seq in range(1, counts[k] + 1):
                        at = starts[k] + timedelta(minutes=3 * seq)
                        if rng.random() < 0.55:
                            s = round(rng.uniform(-1, 1), 3)
                            label = "negative" if s <= -0.2 else "positive" if s >= 0.2 else "neutral"
                            row = (
                                "incoming",
                                "text",
                                "contact",
                                c0 + owners[k],
                                rng.choice(SAMPLES),
                                s,
                                label,
                            )
                        else:
                            row = ("outgoing", "text", "agent", agent_id, "확인해 드리겠습니다.", None, None)
                        copy.write_row((mid, ws_id, v0 + k, inboxes[0], seq, *row, at))
                        mid += 1
        conn.execute("ALTER TABLE messages ENABLE TRIGGER messages_sentiment_insert")
        with console.status("the conversations' sentiments"):
            conn.execute("SELECT sodam_conversation_sentiments_rebuild(%s)", (ws_id,))
        e0 = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM conversation_events").fetchone()[0]
        with console.status("copying the status changes"):
            with cur.copy(
                "COPY conversation_events (id, workspace_id, conversation_id, type, actor_type, actor_id, data,"
                " created_at) FROM STDIN"
            ) as copy:
                eid = e0
                for k in range(n_conv):
                    if statuses[k] == "resolved":
                        copy.write_row(
                            (
                                eid,
                                ws_id,
                                v0 + k,
                                "status.changed",
                                "agent",
                                agent_id,
                                '{"from": "open", "to": "resolved"}',
                                starts[k] + timedelta(minutes=3 * counts[k] + 1),
                            )
                        )
                        eid += 1
        survey_ids = []
        for kind in ("csat", "nps", "ces"):
            survey_ids.append(
                conn.execute(
                    "INSERT INTO surveys (workspace_id, name, kind, questions) VALUES (%s, %s, %s, '[]') RETURNING id",
                    (ws_id, kind.upper(), kind),
                ).fetchone()[0]
            )
        r0 = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM survey_recipients").fetchone()[0]
        picks = rng.sample(range(n_conv), min(answers, n_conv))
        with console.status(f"copying {len(picks):,} survey answers"):
            with cur.copy(
                "COPY survey_recipients (id, workspace_id, survey_id, contact_id, conversation_id, token, channel,"
                " language, send_at, sent_at, expires_at, created_at) FROM STDIN"
            ) as copy:
                for j, k in enumerate(picks):
                    at = starts[k] + timedelta(minutes=3 * counts[k] + 2)
                    copy.write_row(
                        (
                            r0 + j,
                            ws_id,
                            survey_ids[j % 3],
                            c0 + owners[k],
                            v0 + k,
                            secrets.token_urlsafe(24),
                            "widget",
                            "ko",
                            at,
                            at,
                            at + timedelta(days=7),
                            at,
                        )
                    )
            with cur.copy(
                "COPY survey_answers (workspace_id, survey_id, recipient_id, contact_id, conversation_id, kind, score,"
                " answers, comment, created_at, updated_at) FROM STDIN"
            ) as copy:
                for j, k in enumerate(picks):
                    kind = ("csat", "nps", "ces")[j % 3]
                    score = {"csat": rng.randint(1, 5), "nps": rng.randint(0, 10), "ces": rng.randint(1, 7)}[
                        kind
                    ]
                    at = starts[k] + timedelta(minutes=3 * counts[k] + 5)
                    copy.write_row(
                        (
                            ws_id,
                            survey_ids[j % 3],
                            r0 + j,
                            c0 + owners[k],
                            v0 + k,
                            kind,
                            score,
                            json.dumps({"score": score}),
                            "좋았어요" if rng.random() < 0.2 else None,
                            at,
                            at,
                        )
                    )
        with console.status("copying visit pages"):
            with cur.copy(
                "COPY visitor_pages (workspace_id, inbox_id, contact_id, visit_id, url, title, created_at) FROM STDIN"
            ) as copy:
                for i in range(0, contacts, 3):
                    copy.write_row(
                        (ws_id, inboxes[0], c0 + i, f"v{i}", f"https://shop.example.com/p/{i}", "상품", now)
                    )
        for table, first in (
            ("contacts", c0 + contacts),
            ("conversations", v0 + n_conv),
            ("messages", mid),
            ("conversation_events", eid),
        ):
            conn.execute(f"SELECT setval('{table}_id_seq', %s)", (first,))
        conn.commit()
        conn.autocommit = True
        with console.status("VACUUM ANALYZE"):
            for table in (
                "contacts",
                "conversations",
                "messages",
                "conversation_events",
                "survey_answers",
                "conversation_sentiments",
                "survey_recipients",
                "visitor_pages",
            ):
                conn.execute(f"VACUUM ANALYZE {table}")
        heavy = conn.execute(
            "SELECT contact_id, count(*) FROM conversations WHERE workspace_id = %s GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
            (ws_id,),
        ).fetchone()
        return list(range(c0, c0 + contacts)), n_conv, heavy


async def _time(
    url: str, ws_id: int, contact_ids: list[int], samples: int, rng
) -> tuple[list[float], list[float]]:
    from sodam.crm import screen_pop, timeline
    from sodam.db.session import dispose_engine, init_engine, session_scope

    init_engine(url, pool_size=2)
    pops, lines = [], []
    try:
        picked = [rng.choice(contact_ids) for _ in range(samples + 10)]
        for i, contact_id in enumerate(picked):
            async with session_scope() as session:
                started = time.perf_counter()
                await screen_pop.summary(session, workspace_id=ws_id, contact_id=contact_id)
                pop_ms = (time.perf_counter() - started) * 1000
            async with session_scope() as session:
                started = time.perf_counter()
                await timeline.page(session, workspace_id=ws_id, contact_id=contact_id, limit=26)
                line_ms = (time.perf_counter() - started) * 1000
            if i >= 10:  # warm-up
                pops.append(pop_ms)
                lines.append(line_ms)
    finally:
        await dispose_engine()
    return pops, lines


async def _segments(url: str, ws_id: int, agent_id: int) -> dict[str, dict]:
    """Save SEGMENTS, then time their counts round-robin; {name: {count, timings}}."""
    from sqlalchemy import text

    from sodam.db.session import dispose_engine, init_engine, session_scope
    from sodam.segments import compile as compiler
    from sodam.segments import service as segments
    from sodam.segments.filters import parse

    init_engine(url, pool_size=2)
    out: dict[str, dict] = {}
    try:
        async with session_scope() as session:
            saved = [
                await segments.create(session, workspace_id=ws_id, name=name, filter=f, created_by=agent_id)
                for name, f in SEGMENTS
            ]
            await session.commit()
        for segment in saved:
            out[segment.name] = {"timings": []}
        for i in range(SEGMENT_ROUNDS + 1):
            for segment in saved:
                async with session_scope() as session:
                    started = time.perf_counter()
                    n = await segments.count(session, workspace_id=ws_id, filter=segment.filter)
                    ms = (time.perf_counter() - started) * 1000
                out[segment.name]["count"] = n
                if i:  # the first round warms the caches
                    out[segment.name]["timings"].append(ms)
        slowest = max(saved, key=lambda s: _percentile(out[s.name]["timings"], 99))
        async with session_scope() as session:
            await session.execute(text("SET LOCAL work_mem = '64MB'"))
            stmt = compiler.ids_query(parse(slowest.filter), workspace_id=ws_id)
            sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
            plan = [r[0] for r in await session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]
            console.print(f"[bold]slowest segment[/bold] {slowest.name!r}: {plan[-1].strip()}")
    finally:
        await dispose_engine()
    return out


async def _explain(url: str, ws_id: int, contact_id: int) -> None:
    from sqlalchemy import text

    from sodam.crm import screen_pop, timeline
    from sodam.db.session import dispose_engine, init_engine, session_scope

    init_engine(url, pool_size=1)
    try:
        async with session_scope() as session:
            for name, sql, params in (
                (
                    "screen pop",
                    screen_pop.SCREEN_POP_SQL.text,
                    {"ws": ws_id, "contact": contact_id, "recent": 10},
                ),
                (
                    "timeline",
                    timeline._statement(list(timeline.SOURCES), False),
                    {"ws": ws_id, "contact": contact_id, "limit": 26},
                ),
            ):
                plan = await session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params)
                lines = [row[0] for row in plan]
                console.print(
                    f"[bold]{name}[/bold] of the busiest contact #{contact_id}: {lines[-1].strip()}"
                )
    finally:
        await dispose_engine()


def main(
    *, contacts: int = 100_000, messages: int = 1_000_000, answers: int = 50_000, samples: int = 500
) -> dict:
    from sodam.db.migrate import upgrade

    rng = random.Random(20261202)
    with private_database() as db:
        url = db.url
        with console.status("migrating and seeding"):
            upgrade(url)
            asyncio.run(seed(url))
        with psycopg.connect(url, autocommit=True) as conn:
            ws_id, inbox_id = conn.execute("SELECT workspace_id, id FROM inboxes LIMIT 1").fetchone()
            agent_id = conn.execute("SELECT id FROM agents WHERE workspace_id = %s", (ws_id,)).fetchone()[0]
            second = conn.execute(
                "INSERT INTO inboxes (workspace_id, name, channel_type, public_token, allowed_origins, settings)"
                " VALUES (%s, '이메일', 'web_widget', %s, '{}', '{}') RETURNING id",
                (ws_id, secrets.token_urlsafe(16)),
            ).fetchone()[0]
        started = time.perf_counter()
        contact_ids, n_conv, heavy = _load(
            url, ws_id, [inbox_id, second], agent_id, contacts, messages, answers, rng
        )
        load_s = time.perf_counter() - started
        asyncio.run(_explain(url, ws_id, heavy[0]))
        pops, lines = asyncio.run(_time(url, ws_id, contact_ids, samples, rng))
        segment_runs = asyncio.run(_segments(url, ws_id, agent_id))
        version = server_version(url)
    counts = [ms for r in segment_runs.values() for ms in r["timings"]]
    for name, r in segment_runs.items():
        console.print(
            f"segment {name!r}: {r['count']:,} contacts, count p50"
            f" {statistics.median(r['timings']):.1f} ms, p99 {_percentile(r['timings'], 99):.1f} ms"
        )
    result = {
        "bench": "crm",
        "contacts": contacts,
        "conversations": n_conv,
        "messages": messages,
        "survey_answers": min(answers, n_conv),
        "busiest_contact_conversations": heavy[1],
        "samples": len(pops),
        "screen_pop_p50_ms": round(statistics.median(pops), 2),
        "screen_pop_p99_ms": round(_percentile(pops, 99), 2),
        "timeline_p50_ms": round(statistics.median(lines), 2),
        "timeline_p99_ms": round(_percentile(lines, 99), 2),
        "segments": len(segment_runs),
        "segment_count_p50_ms": round(statistics.median(counts), 2),
        "segment_count_p99_ms": round(_percentile(counts, 99), 2),
        "segment_counts": {
            name: {"count": r["count"], "p99_ms": round(_percentile(r["timings"], 99), 2)}
            for name, r in segment_runs.items()
        },
        "load_s": round(load_s, 1),
        "postgres": version,
        "database": db.kind,
    }
    console.print(
        f"{contacts:,} contacts, {n_conv:,} conversations, {messages:,} messages: screen pop p50"
        f" {result['screen_pop_p50_ms']} ms, p99 {result['screen_pop_p99_ms']} ms; timeline first page p50"
        f" {result['timeline_p50_ms']} ms, p99 {result['timeline_p99_ms']} ms; segment count p50"
        f" {result['segment_count_p50_ms']} ms, p99 {result['segment_count_p99_ms']} ms"
    )
    print(json.dumps(result))
    return result
