"""Keeping `report_hourly` up to date: incrementally from the event log, or rebuilt whole.

Incremental (`refresh`, run by the periodic job `reports.refresh`): in one REPEATABLE READ
transaction, read the events after the cursor (`report_cursor.last_event_id`) plus the
cursor's gaps, and the rows queued in `report_dirty` (changes made without an event); the
conversations they touch are recomputed from scratch (`facts.py`), and the rollup receives
(new facts − old facts) of exactly those conversations. Recomputing a conversation twice
changes nothing, so nothing is ever counted twice, and a crash before COMMIT leaves the
cursor where it was: the next run does the same work again.

Gaps: event ids are taken when a row is inserted but become visible at COMMIT, so a
transaction still running may hold an id below ids already visible. Each id skipped over is
kept as a gap with the snapshot's xmax; it is read again on every run until it appears, or
until every transaction that was running then has ended (the snapshot xmin has passed that
horizon) and a short grace has passed (an INSERT takes its id a moment before its
transaction id) — then it was rolled back or deleted and is dropped.

One refresher or rebuild at a time across all processes (a session advisory lock).

Full rebuild (`rebuild`, `sodam reports rebuild`): recompute every conversation and loose
survey answer of a workspace (or of all) from the same SQL, in one transaction;
tests/analytics prove the result equals the incremental one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from sodam.analytics import facts
from sodam.analytics.kpis import COUNTERS

log = logging.getLogger(__name__)

LOCK_KEY = 0x50D4_4E50  # "reports": one refresher or rebuild at a time
BATCH_EVENTS = 20_000
BATCH_DIRTY = 5_000
GAP_GRACE = timedelta(seconds=10)
MAX_GAPS = 10_000
REBUILD_CHUNK = 50_000  # conversation ids per statement in a rebuild

KEY = "workspace_id, hour, inbox_id, channel, team_id, agent_id, language"
SUMS = ", ".join(f"sum({c})" for c in COUNTERS)
NEG_SUMS = ", ".join(f"-sum({c})" for c in COUNTERS)
UPSERT_SET = ", ".join(f"{c} = report_hourly.{c} + EXCLUDED.{c}" for c in COUNTERS)
ALL_ZERO = " AND ".join(f"{c} = 0" for c in COUNTERS)
ANY_NONZERO = " OR ".join(f"sum({c}) <> 0" for c in COUNTERS)
DIM_KEY = "workspace_id, dim, value, hour"
DIM_UPSERT_SET = ", ".join(f"{c} = report_hourly_dim.{c} + EXCLUDED.{c}" for c in COUNTERS)
# Each cube row counts once in every single-dimension view (and once for the whole workspace),
# and once in every pair of the four dimensions other than the agent (dim "channel+language",
# value "web_widget|ko": queries.PAIRS): two such filters read a few rows per hour.
DIM_SPLIT = (
    "CROSS JOIN LATERAL (VALUES ('', ''), ('inbox_id', s.inbox_id::text), ('channel', s.channel),"
    " ('team_id', s.team_id::text), ('agent_id', s.agent_id::text), ('language', s.language),"
    " ('inbox_id+channel', s.inbox_id::text || '|' || s.channel),"
    " ('inbox_id+team_id', s.inbox_id::text || '|' || s.team_id::text),"
    " ('inbox_id+language', s.inbox_id::text || '|' || s.language),"
    " ('channel+team_id', s.channel || '|' || s.team_id::text),"
    " ('channel+language', s.channel || '|' || s.language),"
    " ('team_id+language', s.team_id::text || '|' || s.language)) d(dim, value)"
)
# Each customer's activity (the hours they started a conversation), per dimension like
# report_hourly_dim, with the next such hour: churn and retention read only this. {where}
# filters `report_facts s` (the contacts of a batch, or a workspace).
ACTIVITY_SQL = f"""
INSERT INTO report_contact_activity (workspace_id, contact_id, dim, value, hour, next_hour, first_hour,
    conversations)
SELECT workspace_id, contact_id, dim, value, hour,
       lead(hour) OVER (PARTITION BY workspace_id, contact_id, dim, value ORDER BY hour),
       min(hour) OVER (PARTITION BY workspace_id, contact_id, dim, value), n
  FROM (SELECT s.workspace_id, s.contact_id, d.dim, d.value, s.hour, sum(s.conversations)::int AS n
          FROM report_facts s {DIM_SPLIT}
         WHERE s.conversations > 0 AND s.contact_id IS NOT NULL AND {{where}}
         GROUP BY 1, 2, 3, 4, 5) a
"""
# Months of the cohort report (Korea's; a report in another time zone reads the activity rows).
COHORT_TZ = "Asia/Seoul"
# The cohort rollup's contributions of some customers' activity rows ({where} filters
# `report_contact_activity a`): per slice, cohort month and day, the customers whose first
# conversation of that day's month was on that day (summable over days, unlike distinct
# customers). {sign} is 1 to add them, -1 to take them out.
COHORT_DAYS_SQL = f"""
SELECT workspace_id, dim, value, cohort, day, {{sign}} * count(*)
  FROM (SELECT a.workspace_id, a.dim, a.value,
               date_trunc('month', a.first_hour AT TIME ZONE '{COHORT_TZ}')::date AS cohort,
               (min(a.hour) AT TIME ZONE '{COHORT_TZ}')::date AS day
          FROM report_contact_activity a WHERE {{where}}
         GROUP BY a.workspace_id, a.contact_id, a.dim, a.value, 4,
                  date_trunc('month', a.hour AT TIME ZONE '{COHORT_TZ}')) x
 GROUP BY 1, 2, 3, 4, 5
"""
COHORT_KEY = "workspace_id, dim, value, cohort, day"
# One row per customer: their first conversation's hour and channel, their last, and their
# conversation and survey counts (the journey map's aggregate path, the cohorts' first month).
JOURNEY_SQL = """
INSERT INTO report_contact_journey (workspace_id, contact_id, first_hour, first_channel, last_hour,
    conversations, csat_n, csat_pos, nps_n, nps_promoters, nps_detractors)
SELECT s.workspace_id, s.contact_id,
       min(s.hour) FILTER (WHERE s.conversations > 0),
       (array_agg(s.channel ORDER BY s.hour, s.channel) FILTER (WHERE s.conversations > 0))[1],
       max(s.hour) FILTER (WHERE s.conversations > 0),
       sum(s.conversations), sum(s.csat_n), sum(s.csat_pos), sum(s.nps_n), sum(s.nps_promoters),
       sum(s.nps_detractors)
  FROM report_facts s WHERE s.contact_id IS NOT NULL AND {where}
 GROUP BY 1, 2
"""
FACT_COLUMNS = f"workspace_id, conversation_id, answer_id, contact_id, hour, inbox_id, channel, team_id, agent_id, language, {', '.join(COUNTERS)}"


@dataclass
class RefreshResult:
    events: int = 0
    dirty: int = 0
    conversations: int = 0
    answers: int = 0
    gaps: int = 0
    more: bool = False
    seconds: float = 0.0
    workspaces: set[int] = field(default_factory=set)


async def _connect(url: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def _lock(conn: psycopg.AsyncConnection, *, wait: bool) -> bool:
    if wait:
        await conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        return True
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
    return bool((await cur.fetchone())[0])


async def refresh(url: str, *, wait: bool = True, max_rounds: int = 1000) -> RefreshResult | None:
    """Bring the rollup up to date with everything committed before the call (batch after
    batch); None when another refresher holds the lock and `wait` is false."""
    total = RefreshResult()
    started = time.perf_counter()
    conn = await _connect(url)
    try:
        if not await _lock(conn, wait=wait):
            return None
        try:
            for _ in range(max_rounds):
                one = await _refresh_once(conn)
                total.events += one.events
                total.dirty += one.dirty
                total.conversations += one.conversations
                total.answers += one.answers
                total.gaps = one.gaps
                total.workspaces |= one.workspaces
                if not one.more:
                    break
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        await conn.close()
    total.seconds = time.perf_counter() - started
    return total


async def _refresh_once(conn: psycopg.AsyncConnection) -> RefreshResult:
    result = RefreshResult()
    await conn.set_autocommit(False)
    await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
    try:
        async with conn.transaction(), conn.cursor() as cur:
            await cur.execute(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,"
                " pg_snapshot_xmax(pg_current_snapshot())::text::bigint, clock_timestamp()"
            )
            xmin, xmax, now = await cur.fetchone()
            await cur.execute(
                "SELECT last_event_id, gap_ids, gap_horizons, gap_seen_at FROM report_cursor WHERE id = 1"
            )
            watermark, gap_ids, gap_horizons, gap_seen = await cur.fetchone()
            await cur.execute(
                "SELECT id, workspace_id, conversation_id FROM conversation_events WHERE id > %s ORDER BY id LIMIT %s",
                (watermark, BATCH_EVENTS),
            )
            new_events = await cur.fetchall()
            found_gaps: list[tuple] = []
            if gap_ids:
                await cur.execute(
                    "SELECT id, workspace_id, conversation_id FROM conversation_events WHERE id = ANY(%s)",
                    (list(gap_ids),),
                )
                found_gaps = await cur.fetchall()
            result.events = len(new_events) + len(found_gaps)
            result.more = len(new_events) == BATCH_EVENTS
            conv_ids = {row[2] for row in new_events} | {row[2] for row in found_gaps}
            result.workspaces |= {row[1] for row in new_events} | {row[1] for row in found_gaps}

            # The gaps still open, and the ids this batch skipped over.
            found = {row[0] for row in found_gaps}
            kept = [
                (g, hz, seen)
                for g, hz, seen in zip(gap_ids, gap_horizons, gap_seen, strict=True)
                if g not in found and not (hz <= xmin and seen < now - GAP_GRACE)
            ]
            new_watermark = new_events[-1][0] if new_events else watermark
            seen_ids = {row[0] for row in new_events}
            if new_watermark - watermark - len(seen_ids) > 0:
                low = max(watermark + 1, new_watermark - MAX_GAPS * 4)
                kept += [(i, xmax, now) for i in range(low, new_watermark) if i not in seen_ids][-MAX_GAPS:]
            kept = kept[-MAX_GAPS:]
            result.gaps = len(kept)

            await cur.execute(
                "DELETE FROM report_dirty WHERE id IN (SELECT id FROM report_dirty ORDER BY id LIMIT %s)"
                " RETURNING workspace_id, conversation_id, answer_id",
                (BATCH_DIRTY,),
            )
            dirty = await cur.fetchall()
            result.dirty = len(dirty)
            result.more = result.more or len(dirty) == BATCH_DIRTY
            answer_ids: set[int] = set()
            for ws, conv_id, answer_id in dirty:
                result.workspaces.add(ws)
                if conv_id is not None:
                    conv_ids.add(conv_id)
                elif answer_id is not None:
                    answer_ids.add(answer_id)
            if answer_ids:  # an answer moved off a conversation: its old rows go with the conversation's
                await cur.execute(
                    "SELECT DISTINCT conversation_id FROM report_facts WHERE answer_id = ANY(%s)"
                    " AND conversation_id IS NOT NULL",
                    (list(answer_ids),),
                )
                conv_ids |= {r[0] for r in await cur.fetchall()}
            result.conversations, result.answers = len(conv_ids), len(answer_ids)
            if conv_ids or answer_ids:
                await _recompute(cur, sorted(conv_ids), sorted(answer_ids))
            await cur.execute(
                "UPDATE report_cursor SET last_event_id = %s, gap_ids = %s, gap_horizons = %s, gap_seen_at = %s,"
                " updated_at = clock_timestamp() WHERE id = 1",
                (
                    new_watermark,
                    [k[0] for k in kept],
                    [k[1] for k in kept],
                    [k[2] for k in kept],
                ),
            )
    finally:
        await conn.set_autocommit(True)
    return result


async def _recompute(cur: psycopg.AsyncCursor, conv_ids: list[int], answer_ids: list[int]) -> None:
    """Replace the facts of these conversations and loose answers, and move the rollup by the
    difference (new − old) in one upsert; rollup rows left all zero are deleted."""
    await cur.execute(
        facts.SUMMARY_SQL.format(conv="c.id = ANY(%(ids)s)", events="e.conversation_id = ANY(%(ids)s)"),
        {"ids": conv_ids},
    )
    await facts.business_seconds(cur)
    await cur.execute(
        f"CREATE TEMP TABLE _nf ON COMMIT DROP AS SELECT * FROM ({facts.fact_rows_sql()}"
        f" UNION ALL {facts.LOOSE_ANSWERS_SQL.format(answers='a.id = ANY(%(answers)s)')}) f"
        f" ({FACT_COLUMNS})",
        {"answers": answer_ids},
    )
    old = "(conversation_id = ANY(%(ids)s) OR answer_id = ANY(%(answers)s))"
    # The customers whose activity may change: the contacts of the old facts and the new.
    await cur.execute(
        "CREATE TEMP TABLE _touched ON COMMIT DROP AS"
        f" SELECT DISTINCT workspace_id, contact_id FROM report_facts WHERE {old} AND contact_id IS NOT NULL"
        " UNION SELECT DISTINCT workspace_id, contact_id FROM _nf WHERE contact_id IS NOT NULL",
        {"ids": conv_ids, "answers": answer_ids},
    )
    await cur.execute(
        f"""
        CREATE TEMP TABLE _delta ON COMMIT DROP AS
        SELECT {KEY}, {", ".join(f"sum({c}) AS {c}" for c in COUNTERS)}
          FROM (SELECT {KEY}, {", ".join(COUNTERS)} FROM _nf
                UNION ALL
                SELECT {KEY}, {", ".join(f"-{c}" for c in COUNTERS)} FROM report_facts WHERE {old}) d
         GROUP BY {KEY}
        HAVING {ANY_NONZERO}
        """,
        {"ids": conv_ids, "answers": answer_ids},
    )
    await cur.execute(
        f"INSERT INTO report_hourly ({KEY}, {', '.join(COUNTERS)})"
        f" SELECT {KEY}, {', '.join(COUNTERS)} FROM _delta ORDER BY {KEY}"
        f" ON CONFLICT ({KEY}) DO UPDATE SET {UPSERT_SET}"
    )
    await cur.execute(
        f"INSERT INTO report_hourly_dim ({DIM_KEY}, {', '.join(COUNTERS)})"
        f" SELECT s.workspace_id, d.dim, d.value, s.hour, {', '.join(f'sum(s.{c})' for c in COUNTERS)}"
        f" FROM _delta s {DIM_SPLIT} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        f" ON CONFLICT ({DIM_KEY}) DO UPDATE SET {DIM_UPSERT_SET}"
    )
    await cur.execute(
        f"DELETE FROM report_hourly_dim h USING (SELECT DISTINCT s.workspace_id, d.dim, d.value, s.hour FROM _delta s"
        f" {DIM_SPLIT}) k WHERE (h.workspace_id, h.dim, h.value, h.hour) = (k.workspace_id, k.dim, k.value, k.hour)"
        f" AND {' AND '.join(f'h.{c} = 0' for c in COUNTERS)}"
    )
    await cur.execute(
        f"DELETE FROM report_hourly h USING _delta d WHERE (h.workspace_id, h.hour, h.inbox_id, h.channel,"
        f" h.team_id, h.agent_id, h.language) = (d.workspace_id, d.hour, d.inbox_id, d.channel, d.team_id,"
        f" d.agent_id, d.language) AND {' AND '.join(f'h.{c} = 0' for c in COUNTERS)}"
    )
    await cur.execute(f"DELETE FROM report_facts WHERE {old}", {"ids": conv_ids, "answers": answer_ids})
    await cur.execute(f"INSERT INTO report_facts ({FACT_COLUMNS}) SELECT {FACT_COLUMNS} FROM _nf")
    await cur.execute("SELECT array_agg(DISTINCT contact_id) FROM _touched")
    touched = (await cur.fetchone())[0] or []
    if touched:  # contact ids are unique across workspaces: the (contact, …) indexes serve
        # The cohort rollup moves by these customers' (new − old) contributions.
        await cur.execute(
            "CREATE TEMP TABLE _cohort ON COMMIT DROP AS "
            + COHORT_DAYS_SQL.format(sign=-1, where="a.contact_id = ANY(%(contacts)s)"),
            {"contacts": touched},
        )
        await cur.execute("DELETE FROM report_contact_activity WHERE contact_id = ANY(%s)", (touched,))
        await cur.execute(
            ACTIVITY_SQL.format(where="s.contact_id = ANY(%(contacts)s)"), {"contacts": touched}
        )
        await cur.execute(
            "INSERT INTO _cohort " + COHORT_DAYS_SQL.format(sign=1, where="a.contact_id = ANY(%(contacts)s)"),
            {"contacts": touched},
        )
        await cur.execute(
            f"INSERT INTO report_cohort_days ({COHORT_KEY}, customers)"
            f" SELECT {COHORT_KEY}, sum(n) FROM _cohort c ({COHORT_KEY}, n) GROUP BY {COHORT_KEY}"
            f" HAVING sum(n) <> 0 ORDER BY {COHORT_KEY}"
            f" ON CONFLICT ({COHORT_KEY}) DO UPDATE SET customers = report_cohort_days.customers + EXCLUDED.customers"
        )
        await cur.execute(
            f"DELETE FROM report_cohort_days r USING (SELECT DISTINCT {COHORT_KEY} FROM _cohort c ({COHORT_KEY}, n)) k"
            " WHERE (r.workspace_id, r.dim, r.value, r.cohort, r.day) = (k.workspace_id, k.dim, k.value, k.cohort, k.day)"
            " AND r.customers = 0"
        )
        await cur.execute("DROP TABLE _cohort")
        await cur.execute("DELETE FROM report_contact_journey WHERE contact_id = ANY(%s)", (touched,))
        await cur.execute(JOURNEY_SQL.format(where="s.contact_id = ANY(%(contacts)s)"), {"contacts": touched})
    await cur.execute("DROP TABLE _rc, _nf, _delta, _touched")


@dataclass
class RebuildResult:
    conversations: int = 0
    answers: int = 0
    rows: int = 0
    activity_rows: int = 0
    seconds: float = 0.0


async def rebuild(url: str, *, workspace_id: int | None = None) -> RebuildResult:
    """Recompute the facts and the rollup of one workspace (or all) from scratch."""
    started = time.perf_counter()
    result = RebuildResult()
    conn = await _connect(url)
    try:
        await _lock(conn, wait=True)
        try:
            await conn.set_autocommit(False)
            await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
            async with conn.transaction(), conn.cursor() as cur:
                ws_filter = "workspace_id = %(ws)s" if workspace_id is not None else "true"
                params = {"ws": workspace_id}
                await cur.execute(f"DELETE FROM report_facts WHERE {ws_filter}", params)
                await cur.execute(f"DELETE FROM report_hourly WHERE {ws_filter}", params)
                await cur.execute(f"DELETE FROM report_hourly_dim WHERE {ws_filter}", params)
                await cur.execute(f"DELETE FROM report_contact_activity WHERE {ws_filter}", params)
                await cur.execute(f"DELETE FROM report_contact_journey WHERE {ws_filter}", params)
                await cur.execute(f"DELETE FROM report_cohort_days WHERE {ws_filter}", params)
                # Queued changes visible now are part of this snapshot's state.
                await cur.execute(f"DELETE FROM report_dirty WHERE {ws_filter}", params)
                await cur.execute(
                    f"SELECT coalesce(min(id), 0), coalesce(max(id), -1), count(*) FROM conversations WHERE {ws_filter}",
                    params,
                )
                low, high, result.conversations = await cur.fetchone()
                c_ws = "c.workspace_id = %(ws)s AND " if workspace_id is not None else ""
                e_ws = "e.workspace_id = %(ws)s AND " if workspace_id is not None else ""
                for start in range(low, high + 1, REBUILD_CHUNK):
                    bounds = {"ws": workspace_id, "lo": start, "hi": start + REBUILD_CHUNK}
                    await cur.execute(
                        facts.SUMMARY_SQL.format(
                            conv=c_ws + "c.id >= %(lo)s AND c.id < %(hi)s",
                            events=e_ws + "e.conversation_id >= %(lo)s AND e.conversation_id < %(hi)s",
                        ),
                        bounds,
                    )
                    await facts.business_seconds(cur)
                    await cur.execute(
                        f"INSERT INTO report_facts ({FACT_COLUMNS}) SELECT * FROM ({facts.fact_rows_sql()}) f"
                    )
                    await cur.execute("DROP TABLE _rc")
                a_ws = "a.workspace_id = %(ws)s" if workspace_id is not None else "true"
                await cur.execute(
                    f"INSERT INTO report_facts ({FACT_COLUMNS}) SELECT * FROM"
                    f" ({facts.LOOSE_ANSWERS_SQL.format(answers=a_ws)}) f",
                    params,
                )
                result.answers = cur.rowcount
                await cur.execute(
                    f"INSERT INTO report_hourly ({KEY}, {', '.join(COUNTERS)})"
                    f" SELECT {KEY}, {SUMS} FROM report_facts WHERE {ws_filter} GROUP BY {KEY}"
                    f" HAVING {ANY_NONZERO}",
                    params,
                )
                result.rows = cur.rowcount
                await cur.execute(
                    f"INSERT INTO report_hourly_dim ({DIM_KEY}, {', '.join(COUNTERS)})"
                    f" SELECT s.workspace_id, d.dim, d.value, s.hour, {', '.join(f'sum(s.{c})' for c in COUNTERS)}"
                    f" FROM report_hourly s {DIM_SPLIT} WHERE {'s.' + ws_filter if workspace_id is not None else 'true'}"
                    " GROUP BY 1, 2, 3, 4",
                    params,
                )
                await cur.execute(
                    ACTIVITY_SQL.format(where="s." + ws_filter if workspace_id is not None else "true"),
                    params,
                )
                result.activity_rows = cur.rowcount
                await cur.execute(
                    f"INSERT INTO report_cohort_days ({COHORT_KEY}, customers) "
                    + COHORT_DAYS_SQL.format(
                        sign=1, where="a." + ws_filter if workspace_id is not None else "true"
                    ),
                    params,
                )
                await cur.execute(
                    JOURNEY_SQL.format(where="s." + ws_filter if workspace_id is not None else "true"), params
                )
                if workspace_id is None:
                    await _jump_cursor(cur)
        finally:
            await conn.set_autocommit(True)
            await conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        # Rewritten tables: fresh statistics, and a visibility map so the reports' index-only
        # scans do not visit the heap (what autovacuum would do, minutes later).
        await conn.execute(
            "VACUUM (ANALYZE) report_facts, report_hourly, report_hourly_dim, report_contact_activity,"
            " report_contact_journey, report_cohort_days"
        )
    finally:
        await conn.close()
    result.seconds = time.perf_counter() - started
    return result


async def _jump_cursor(cur: psycopg.AsyncCursor) -> None:
    """After a full rebuild every event visible in its snapshot is counted: move the cursor to
    the newest one, keeping as gaps the recent ids not visible yet (their transactions may still
    commit)."""
    await cur.execute(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, clock_timestamp(),"
        " (SELECT max(id) FROM conversation_events)"
    )
    xmax, now, newest = await cur.fetchone()
    if newest is None:
        return
    await cur.execute(
        "SELECT array_agg(g ORDER BY g) FROM generate_series(greatest(1, %(n)s - %(k)s), %(n)s) g"
        " WHERE NOT EXISTS (SELECT 1 FROM conversation_events e WHERE e.id = g)",
        {"n": newest, "k": MAX_GAPS},
    )
    gaps = (await cur.fetchone())[0] or []
    await cur.execute(
        "UPDATE report_cursor SET last_event_id = %s, gap_ids = %s, gap_horizons = %s, gap_seen_at = %s,"
        " updated_at = clock_timestamp() WHERE id = 1",
        (newest, gaps, [xmax] * len(gaps), [now] * len(gaps)),
    )


async def lag_seconds(url: str) -> float | None:
    """Age of the oldest event not yet in the rollup (0 when up to date): the figure the bench
    reports as aggregate lag."""
    async with await _connect(url) as conn:
        cur = await conn.execute(
            "SELECT extract(epoch FROM clock_timestamp() - min(e.created_at)) FROM conversation_events e"
            " WHERE e.id > (SELECT last_event_id FROM report_cursor WHERE id = 1)"
        )
        row = await cur.fetchone()
        return float(row[0]) if row and row[0] is not None else 0.0


def utc_now() -> datetime:
    return datetime.now(UTC)
