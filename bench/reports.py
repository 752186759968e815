"""Reports at scale: `sodam bench reports [--scale F] [--samples N] [--lag-seconds S]`.

Builds a private database with one workspace (3 inboxes, 5 teams, 50 agents) holding, at
scale 1.0, 1,000,000 conversations over a year, 10,000,000 conversation events (10 each:
created, customer and agent messages, assignment, the bot's handoff for some, resolution,
reopens), one scored customer message per conversation, the bot's outcome for 40 % of them
and 200,000 survey answers (CSAT, NPS, CES) — generated in PostgreSQL with set-based
`INSERT … SELECT generate_series` (triggers off during the load, as a restore would).

Then: the full rebuild of the rollup (`rebuild_s`); the overview report for 30-day periods
(`overview_p95_ms` cold: each period asked for the first time on a new connection; warm: the
same period again); the agents report (`agents_report_p95_ms`); a month's CSV
(`csv_month_s`: the conversations report built and its daily table written as CSV); and the
aggregate lag under a steady 200 events/s (`aggregate_lag_s`, p95 from an event's commit to
the commit of the refresh that counted it, with the refresher on the job's 5-second period).
Times are server-side (the report's SQL and assembly, no HTTP), as `sodam bench crm` does.
`before_overview_*` is the same overview with churn read from the conversations at request
time (`queries.churn_scan`, the way it was before the activity rollup), in the same run; every
statement of one overview is printed with its EXPLAIN (ANALYZE, BUFFERS) plan.

Prints the figures; the last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from datetime import date, timedelta

import psycopg

from bench.common import console, private_database, server_version

DAYS = 365


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _load(url: str, conversations: int, answers: int) -> dict:
    contacts = max(1, conversations // 5)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no triggers/FK checks while loading
        ws = conn.execute(
            "INSERT INTO workspaces (name, slug, default_locale) VALUES ('Bench 보고서', 'bench-reports', 'ko') RETURNING id"
        ).fetchone()[0]
        inboxes = [
            conn.execute(
                "INSERT INTO inboxes (workspace_id, name, channel_type, public_token, allowed_origins, settings)"
                " VALUES (%s, %s, %s, md5(random()::text), '{}', '{}') RETURNING id",
                (ws, name, kind),
            ).fetchone()[0]
            for name, kind in (("웹 채팅", "web_widget"), ("이메일", "email"), ("API", "api"))
        ]
        teams = [
            conn.execute(
                "INSERT INTO teams (workspace_id, name) VALUES (%s, %s) RETURNING id", (ws, f"팀 {t}")
            ).fetchone()[0]
            for t in range(5)
        ]
        agents = [
            conn.execute(
                "INSERT INTO agents (workspace_id, email, name, password_hash, role, locale, is_active, session_version)"
                " VALUES (%s, %s, %s, 'x', 'agent', 'ko', true, 1) RETURNING id",
                (ws, f"a{a}@bench.test", f"상담원 {a}"),
            ).fetchone()[0]
            for a in range(50)
        ]
        steps = [
            (
                "contacts",
                "INSERT INTO contacts (workspace_id, name, language, custom_attributes, created_at)"
                " SELECT %(ws)s, '고객 ' || g, CASE WHEN g % 4 = 0 THEN 'en' ELSE 'ko' END, '{}', now() - interval '400 days'"
                " FROM generate_series(1, %(contacts)s) g",
            ),
            (
                "conversation plan",
                """CREATE UNLOGGED TABLE bench_gen AS
                SELECT g AS n,
                       now() - (random() * %(days)s) * interval '1 day' AS created,
                       (30 + random() * random() * 3600)::int AS frt,
                       (600 + random() * 86400)::int AS res,
                       CASE WHEN g % 10 < 4 THEN (CASE WHEN random() < 0.55 THEN 1 ELSE 2 END) ELSE 0 END AS bot,
                       random() < 0.85 AS resolved, random() < 0.08 AS reopened,
                       (%(agents)s::bigint[])[1 + (g % 50)] AS agent, (%(teams)s::bigint[])[1 + (g % 5)] AS team,
                       (%(inboxes)s::bigint[])[1 + (g % 3)] AS inbox
                  FROM generate_series(1, %(n)s) g""",
            ),
            (
                "conversations",
                """INSERT INTO conversations (workspace_id, inbox_id, contact_id, status, priority, tags, language,
                       assignee_id, team_id, last_seq, created_at, updated_at)
                SELECT %(ws)s, inbox, (SELECT min(id) FROM contacts WHERE workspace_id = %(ws)s) + (n % %(contacts)s),
                       (CASE WHEN resolved AND NOT reopened THEN 'resolved' ELSE 'open' END)::conversation_status,
                       'none', '{}', CASE WHEN n % 4 = 0 THEN 'en' ELSE 'ko' END,
                       CASE WHEN bot = 1 THEN NULL ELSE agent END, team, 8, created, created
                  FROM bench_gen ORDER BY n""",
            ),
            (
                "plan ids",
                "CREATE UNLOGGED TABLE bench_ids AS SELECT n, n + (SELECT min(id) - 1 FROM conversations"
                " WHERE workspace_id = %(ws)s) AS id FROM bench_gen",
            ),
            (
                "plan with ids",
                "CREATE UNLOGGED TABLE bench_plan AS SELECT g.*, i.id FROM bench_gen g JOIN bench_ids i USING (n)",
            ),
            (
                "events",
                """INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data, created_at)
                SELECT %(ws)s, b.id, e.type, e.actor, e.actor_id, e.data::jsonb, b.created + e.at * interval '1 second'
                  FROM bench_plan b CROSS JOIN LATERAL (VALUES
                    (1, 'conversation.created', 'contact', NULL::bigint, '{}'::text, 0),
                    (2, 'message.created', 'contact', NULL, '{"kind": "text"}', 0),
                    (3, CASE b.bot WHEN 2 THEN 'bot.handed_off' WHEN 1 THEN 'message.created' ELSE 'conversation.assigned' END,
                        CASE WHEN b.bot > 0 THEN 'bot' ELSE 'system' END, NULL,
                        CASE b.bot WHEN 2 THEN '{"reason": "asked_for_human"}' WHEN 1 THEN '{"kind": "bot"}'
                             ELSE jsonb_build_object('assignee', jsonb_build_object('to', b.agent))::text END, 20),
                    (4, 'message.created', CASE WHEN b.bot = 1 THEN 'contact' ELSE 'agent' END,
                        CASE WHEN b.bot = 1 THEN NULL ELSE b.agent END, '{"kind": "text"}', 20 + b.frt),
                    (5, 'message.created', 'contact', NULL, '{"kind": "text"}', 80 + b.frt),
                    (6, 'message.created', CASE WHEN b.bot = 1 THEN 'bot' ELSE 'agent' END,
                        CASE WHEN b.bot = 1 THEN NULL ELSE b.agent END, '{"kind": "text"}', 140 + b.frt),
                    (7, 'message.created', 'contact', NULL, '{"kind": "text"}', 200 + b.frt),
                    (8, 'message.created', CASE WHEN b.bot = 1 THEN 'bot' ELSE 'agent' END,
                        CASE WHEN b.bot = 1 THEN NULL ELSE b.agent END, '{"kind": "note"}', 260 + b.frt),
                    (9, CASE WHEN b.resolved THEN 'status.changed' ELSE 'message.created' END,
                        CASE WHEN b.bot = 1 THEN 'bot' ELSE 'agent' END, NULL,
                        CASE WHEN b.resolved THEN '{"from": "open", "to": "resolved"}' ELSE '{"kind": "text"}' END,
                        300 + b.frt + b.res),
                    (10, CASE WHEN b.resolved AND b.reopened THEN 'status.changed' ELSE 'tags.changed' END, 'contact', NULL,
                        CASE WHEN b.resolved AND b.reopened THEN '{"from": "resolved", "to": "open"}' ELSE '{"to": []}' END,
                        400 + b.frt + b.res + 86400)
                  ) AS e(k, type, actor, actor_id, data, at)
                 ORDER BY b.n, e.k""",
            ),
            (
                "messages",
                """INSERT INTO messages (workspace_id, conversation_id, inbox_id, seq, direction, kind, sender_type,
                       content, sentiment_label, created_at)
                SELECT %(ws)s, id, inbox, 1, 'incoming', 'text', 'contact', '문의드립니다',
                       CASE WHEN n % 7 = 0 THEN 'negative' WHEN n % 3 = 0 THEN 'positive' ELSE 'neutral' END, created
                  FROM bench_plan""",
            ),
            (
                "bot outcomes",
                """INSERT INTO bot_conversations (workspace_id, conversation_id, state, outcome, outcome_at, handoff_reason,
                       intent, last_question, answers)
                SELECT %(ws)s, id, CASE bot WHEN 2 THEN 'handed_off' ELSE 'resolved' END::bot_state,
                       (CASE WHEN bot = 2 THEN 'handed_off' WHEN n % 3 = 0 THEN 'confirmed' ELSE 'assumed' END)::bot_outcome,
                       created + interval '20 seconds',
                       CASE WHEN bot = 2 THEN (ARRAY['asked_for_human', 'not_helpful', 'low_confidence'])[1 + n % 3] END,
                       (ARRAY['배송', '환불', '교환', '결제', '쿠폰'])[1 + n % 5], '배송 언제 오나요 ' || (n % 50), 1
                  FROM bench_plan WHERE bot > 0""",
            ),
            (
                "surveys",
                """INSERT INTO surveys (workspace_id, name, kind, audience, questions, on_resolve_inbox_ids, escalate,
                       expires_after_hours, is_active)
                SELECT %(ws)s, k, k, 'customers', '[]', '{}', false, 168, true FROM unnest(ARRAY['csat', 'nps', 'ces']) k""",
            ),
            (
                "survey answers",
                """WITH s AS (SELECT kind, id FROM surveys WHERE workspace_id = %(ws)s),
                a AS (SELECT g, (ARRAY['csat', 'csat', 'csat', 'csat', 'csat', 'nps', 'nps', 'nps', 'ces', 'ces'])[1 + g % 10] AS kind,
                             b.id AS conv, b.created
                        FROM generate_series(1, %(answers)s) g JOIN bench_plan b ON b.n = 1 + (g * 7) % %(n)s),
                r AS (INSERT INTO survey_recipients (workspace_id, survey_id, contact_id, conversation_id, token, channel,
                             language, expires_at, created_at)
                      SELECT %(ws)s, s.id, (SELECT min(id) FROM contacts WHERE workspace_id = %(ws)s) + a.g % %(contacts)s,
                             CASE WHEN a.g % 5 = 0 THEN NULL ELSE a.conv END, md5('bench' || a.g), 'link', 'ko',
                             a.created + interval '8 days', a.created
                        FROM a JOIN s ON s.kind = a.kind RETURNING id, survey_id, contact_id, conversation_id, created_at)
                INSERT INTO survey_answers (workspace_id, survey_id, recipient_id, contact_id, conversation_id, kind, score,
                       answers, comment, created_at, updated_at)
                SELECT %(ws)s, r.survey_id, r.id, r.contact_id, r.conversation_id, s.kind,
                       CASE s.kind WHEN 'csat' THEN 1 + (r.id % 5) WHEN 'nps' THEN r.id % 11 ELSE 1 + (r.id % 7) END,
                       '{}', CASE WHEN r.id % 9 = 0 THEN '상담이 친절했어요' END,
                       r.created_at + interval '1 hour', r.created_at + interval '1 hour'
                  FROM r JOIN s ON s.id = r.survey_id""",
            ),
            (
                "agent states",
                "INSERT INTO agent_states (workspace_id, agent_id, availability) SELECT %(ws)s, unnest(%(agents)s::bigint[]), 'online'",
            ),
            ("drop plan", "DROP TABLE bench_gen, bench_ids, bench_plan"),
            ("analyse", "ANALYZE"),
        ]
        params = {
            "ws": ws,
            "n": conversations,
            "contacts": contacts,
            "answers": answers,
            "days": DAYS,
            "agents": agents,
            "teams": teams,
            "inboxes": inboxes,
        }
        timings = {}
        for name, sql in steps:
            started = time.perf_counter()
            with console.status(f"generating {name}"):
                conn.execute(sql.replace(" % ", " %% "), params)  # modulo, not a placeholder
            timings[name] = round(time.perf_counter() - started, 1)
            console.print(f"  {name}: {timings[name]} s")
        conn.execute("SET session_replication_role = DEFAULT")
        events = conn.execute("SELECT count(*) FROM conversation_events").fetchone()[0]
    return {"workspace_id": ws, "agents": agents, "events": events, "load_s": round(sum(timings.values()), 1)}


async def _time_reports(url: str, ws: int, samples: int) -> dict:
    from sodam.analytics import service
    from sodam.analytics.params import to_csv
    from sodam.analytics.queries import Filters

    today = date.today()
    rng = random.Random(20261202)
    ends = rng.sample(range(0, DAYS - 30), min(samples, DAYS - 30))

    def period(end_back: int) -> Filters:
        end = today - timedelta(days=end_back)
        return Filters(ws, end - timedelta(days=29), end)

    cold, warm, agents, legacy = [], [], [], []
    # Before: the same overview with churn read from the conversations (each customer's activity
    # scanned at request time, as before the activity rollup), measured in the same run.
    from sodam.analytics import queries as Q

    rollup_churn = Q.churn
    Q.churn = Q.churn_scan
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for back in ends[:20]:
                await service.build(conn, "overview", period(back))  # warm it
                started = time.perf_counter()
                await service.build(conn, "overview", period(back))
                legacy.append((time.perf_counter() - started) * 1000)
    finally:
        Q.churn = rollup_churn
    for back in ends:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            await service.build(conn, "overview", period(back))
            cold.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await service.build(conn, "overview", period(back))
            warm.append((time.perf_counter() - started) * 1000)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for back in ends:
            started = time.perf_counter()
            await service.build(conn, "agents", period(back))
            agents.append((time.perf_counter() - started) * 1000)
        csv_times = []
        for back in ends[:10]:
            started = time.perf_counter()
            data = await service.build(conn, "conversations", period(back))
            for table in data["tables"].values():
                to_csv(table)
            csv_times.append(time.perf_counter() - started)
        # The same with two filters (language + channel): with the dimension-pair rollup, and
        # "before" without it (the cube for the sums, the facts for churn), interleaved so both
        # see the same load.
        filtered, filtered_before = [], []
        for back in ends[:30]:
            f = period(back)
            f = Filters(ws, f.start, f.end, language="ko", channel="web_widget")
            for pairs, out in ((Q.PAIRS, filtered), (frozenset(), filtered_before)):
                saved, Q.PAIRS = Q.PAIRS, pairs
                try:
                    await service.build(conn, "overview", f)  # warm
                    started = time.perf_counter()
                    await service.build(conn, "overview", f)
                    out.append((time.perf_counter() - started) * 1000)
                finally:
                    Q.PAIRS = saved
        extra = {}
        for name in ("retention", "journey"):
            if name not in service.REPORTS:
                continue
            times = []
            for back in ends[:10]:
                started = time.perf_counter()
                await service.build(conn, name, period(back))
                times.append((time.perf_counter() - started) * 1000)
            extra[f"{name}_report_p95_ms"] = round(_percentile(times, 95), 1)
    return {
        "before_overview_p50_ms_warm": round(statistics.median(legacy), 1),
        "before_overview_p95_ms_warm": round(_percentile(legacy, 95), 1),
        "overview_p50_ms_cold": round(statistics.median(cold), 1),
        "overview_p95_ms_cold": round(_percentile(cold, 95), 1),
        "overview_p95_ms_warm": round(_percentile(warm, 95), 1),
        "overview_p50_ms_warm": round(statistics.median(warm), 1),
        "overview_two_filters_p50_ms": round(statistics.median(filtered), 1),
        "overview_two_filters_p95_ms": round(_percentile(filtered, 95), 1),
        "before_overview_two_filters_p50_ms": round(statistics.median(filtered_before), 1),
        "before_overview_two_filters_p95_ms": round(_percentile(filtered_before, 95), 1),
        **extra,
        "agents_report_p95_ms": round(_percentile(agents, 95), 1),
        "csv_month_s": round(max(csv_times), 3),
    }


class _Recorder:
    """A connection that remembers every statement a report runs (for EXPLAIN ANALYZE)."""

    def __init__(self, conn: psycopg.AsyncConnection):
        self.conn, self.statements = conn, []

    async def execute(self, sql, params=None):
        self.statements.append((sql, params))
        return await self.conn.execute(sql, params)

    def cursor(self, **kw):
        recorder, cur = self, self.conn.cursor(**kw)

        class _Cursor:
            async def execute(self, sql, params=None):
                recorder.statements.append((sql, params))
                return await cur.execute(sql, params)

        return _Cursor()


async def _explain(url: str, ws: int) -> list[dict]:
    """Every statement of the overview (30 days ending 60 days ago; unfiltered, then with two
    filters) and of the conversations report with EXPLAIN (ANALYZE, BUFFERS): its time and the
    plan's access paths; the full plans go to the console."""
    from sodam.analytics import service
    from sodam.analytics.queries import Filters

    end = date.today() - timedelta(days=60)
    out = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        rec = _Recorder(conn)
        await service.build(rec, "overview", Filters(ws, end - timedelta(days=29), end))
        two = Filters(ws, end - timedelta(days=29), end, language="ko", channel="web_widget")
        # The same with two filters, before (no pair rollup: the cube for the sums and, for
        # churn, the facts' covering index) and after (the pair rows of the one-dimension rollups).
        marks = {"unfiltered": (0, None)}
        from sodam.analytics import queries as Q

        saved, Q.PAIRS = Q.PAIRS, frozenset()
        try:
            marks["two_filters_before"] = (len(rec.statements), None)
            await service.build(rec, "overview", two)
        finally:
            Q.PAIRS = saved
        marks["two_filters_after"] = (len(rec.statements), None)
        await service.build(rec, "overview", two)
        marks["conversations"] = (len(rec.statements), None)
        # The conversations report's percentiles (the facts' durations index).
        await service.build(rec, "conversations", Filters(ws, end - timedelta(days=29), end))
        for n, (sql, params) in enumerate(rec.statements):
            cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = [r[0] for r in await cur.fetchall()]
            ms = next(
                (float(x.split(":")[1].split()[0]) for x in plan if x.startswith("Execution Time")), None
            )
            scans = sorted(
                {
                    x.strip().split(" on ")[0].lstrip("-> ").strip() + " on " + x.split(" on ")[1].split()[0]
                    for x in plan
                    if " on " in x and "Scan" in x
                }
            )
            console.print(f"[bold]statement {n}[/bold] {ms} ms: {' '.join(sql.split())[:160]}")
            for line in plan:
                console.print("   " + line, markup=False, highlight=False)
            group = max((k for k, (at, _) in marks.items() if at <= n), key=lambda k: marks[k][0])
            out.append({"statement": n, "ms": ms, "scans": scans, "group": group})
    return out


async def _lag(url: str, ws: int, agents: list[int], seconds: float, rate: float = 200.0) -> dict:
    """Feed `rate` events/s (each its own transaction) while the refresher runs every 5 s as the
    job does; lag = commit of the refresh that counted an event − the event's commit."""
    from sodam.analytics import rollup

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        recent = [
            r[0]
            for r in await (
                await conn.execute(
                    "SELECT id FROM conversations WHERE workspace_id = %s ORDER BY created_at DESC LIMIT 2000",
                    (ws,),
                )
            ).fetchall()
        ]
    inserted: list[tuple[int, float]] = []
    refreshed: list[tuple[int, float]] = []
    stop = asyncio.Event()

    async def feed():
        rng = random.Random(7)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            sent = 0
            while time.perf_counter() - started < seconds:
                due = int((time.perf_counter() - started) * rate)
                while sent < due:
                    agent = rng.random() < 0.5
                    cur = await conn.execute(
                        "INSERT INTO conversation_events (workspace_id, conversation_id, type, actor_type, actor_id, data,"
                        " created_at) VALUES (%s, %s, 'message.created', %s, %s, '{\"kind\": \"text\"}', clock_timestamp())"
                        " RETURNING id",
                        (
                            ws,
                            rng.choice(recent),
                            "agent" if agent else "contact",
                            rng.choice(agents) if agent else None,
                        ),
                    )
                    inserted.append(((await cur.fetchone())[0], time.perf_counter()))
                    sent += 1
                await asyncio.sleep(0.005)
        stop.set()

    async def refresh():
        # Every 5 s like the periodic job, and once more after the feed stops.
        while True:
            result = await rollup.refresh(url, wait=False)
            if result is not None:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    mark = (await (await conn.execute("SELECT last_event_id FROM report_cursor")).fetchone())[
                        0
                    ]
                refreshed.append((mark, time.perf_counter()))
            if stop.is_set():
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=5.0)
            except TimeoutError:
                pass

    await asyncio.gather(feed(), refresh())
    await rollup.refresh(url)
    lags = []
    for event_id, at in inserted:
        done = next((t for mark, t in refreshed if mark >= event_id and t >= at), None)
        if done is not None:
            lags.append(done - at)
    return {
        "lag_events": len(inserted),
        "lag_events_counted": len(lags),
        "aggregate_lag_s": round(_percentile(lags, 95), 2) if lags else None,
        "aggregate_lag_max_s": round(max(lags), 2) if lags else None,
        "feed_rate": round(len(inserted) / seconds, 1),
    }


def main(*, scale: float = 1.0, samples: int = 60, lag_seconds: float = 30.0) -> dict:
    from sodam.analytics import rollup
    from sodam.db.migrate import upgrade

    conversations = max(1000, int(1_000_000 * scale))
    answers = max(200, int(200_000 * scale))
    with private_database() as db:
        url = db.url
        with console.status("migrating"):
            upgrade(url)
        console.print(
            f"generating {conversations:,} conversations, {conversations * 10:,} events, {answers:,} answers"
        )
        loaded = _load(url, conversations, answers)
        with console.status("rebuilding the rollup"):
            rebuilt = asyncio.run(rollup.rebuild(url))
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT count(*) FROM report_hourly").fetchone()[0]
            facts = conn.execute("SELECT count(*) FROM report_facts").fetchone()[0]
        console.print(f"rebuild: {rebuilt.seconds:.1f} s → {rows:,} hourly rows, {facts:,} fact rows")
        with psycopg.connect(url, autocommit=True) as conn:
            activity_rows = conn.execute("SELECT count(*) FROM report_contact_activity").fetchone()[0]
        console.print(f"activity rollup: {activity_rows:,} rows")
        explained = asyncio.run(_explain(url, loaded["workspace_id"]))
        with console.status("timing reports"):
            timed = asyncio.run(_time_reports(url, loaded["workspace_id"], samples))
        with console.status(f"feeding 200 events/s for {lag_seconds:.0f} s"):
            lag = asyncio.run(_lag(url, loaded["workspace_id"], loaded["agents"], lag_seconds))
        version = server_version(url)
    result = {
        "bench": "reports",
        "scale": scale,
        "conversations": conversations,
        "events": loaded["events"],
        "survey_answers": answers,
        "load_s": loaded["load_s"],
        "rebuild_s": round(rebuilt.seconds, 1),
        "hourly_rows": rows,
        "fact_rows": facts,
        "activity_rows": activity_rows,
        "explained_statements_ms": [e["ms"] for e in explained],
        "explained_ms_by_group": {
            g: round(sum(e["ms"] or 0 for e in explained if e["group"] == g), 1)
            for g in dict.fromkeys(e["group"] for e in explained)
        },
        **timed,
        **lag,
        "samples": samples,
        "postgres": version,
        "database": db.kind,
    }
    for key, value in result.items():
        console.print(f"{key:>28}  {value}")
    print(json.dumps(result, ensure_ascii=False))
    return result
