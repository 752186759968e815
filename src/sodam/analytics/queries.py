"""Report reads: sums of `report_hourly` for a period and filters (totals, a day or hour
series, weekday × hour, by dimension), and the few lists that are not sums (the bot's
handoff reasons and topics, unanswered questions, survey comments, open load, churn).

Every statement is scoped to one workspace. They run on the reports connection pool
(`readdb.py`: the read replica when SODAM_REPORTS_DATABASE_URL is set).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from sodam.analytics.kpis import COUNTERS

SUM_COLUMNS = ", ".join(f"coalesce(sum({c}), 0)::bigint AS {c}" for c in COUNTERS)


@dataclass(frozen=True)
class Filters:
    workspace_id: int
    start: date  # first local day, inclusive
    end: date  # last local day, inclusive
    tz: str = "Asia/Seoul"
    inbox_id: int | None = None
    channel: str | None = None
    team_id: int | None = None
    agent_id: int | None = None
    language: str | None = None
    churn_days: int = 90
    # A segment: its id (shown back) and its contacts when the report was asked for (resolved
    # by the caller through segments' compiler). None = every customer.
    segment_id: int | None = None
    contact_ids: tuple[int, ...] | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(0), self.zone)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(0), self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        n = self.days
        return replace(self, start=self.start - timedelta(days=n), end=self.start - timedelta(days=1))

    def set_filters(self) -> list[tuple[str, Any]]:
        return [(n, getattr(self, n)) for n in DIMENSION_NAMES if getattr(self, n) is not None]

    def source(self, *, cube: bool = False) -> tuple[str, str, dict[str, Any]]:
        """(table, WHERE clause, parameters) of the rollup to read: with no filter or one, the
        one-dimension rollup (a few rows per hour); with more, the cube of every combination."""
        params: dict[str, Any] = {
            "ws": self.workspace_id,
            "since": self.since,
            "until": self.until,
            "tz": self.tz,
        }
        period = "workspace_id = %(ws)s AND hour >= %(since)s AND hour < %(until)s"
        chosen = self.set_filters()
        if self.contact_ids is not None:
            # A segment: the per-conversation facts of its customers (the rollup has no contact).
            parts = [period, "contact_id = ANY(%(contacts)s)"]
            params["contacts"] = list(self.contact_ids)
            for name, value in chosen:
                parts.append(f"{name} = %({name})s")
                params[name] = value
            return "report_facts", " AND ".join(parts), params
        sliced = dim_slice(chosen)
        if sliced is not None and not cube:
            params.update(dim=sliced[0], value=sliced[1])
            return "report_hourly_dim", f"{period} AND dim = %(dim)s AND value = %(value)s", params
        parts = [period]
        for name, value in chosen:
            parts.append(f"{name} = %({name})s")
            params[name] = value
        return "report_hourly", " AND ".join(parts), params


DIMENSION_NAMES = ("inbox_id", "channel", "team_id", "agent_id", "language")
# The dimension pairs the one-dimension rollups also hold (rollup.DIM_SPLIT; migration 0039):
# every pair of the four dimensions other than the agent (an agent's rows are few: the cube's
# (workspace, agent, hour) index and the facts' ix_report_facts_agent_started serve those).
PAIRS: frozenset[str] = frozenset(
    {
        "inbox_id+channel",
        "inbox_id+team_id",
        "inbox_id+language",
        "channel+team_id",
        "channel+language",
        "team_id+language",
    }
)


def dim_slice(chosen: list[tuple[str, Any]]) -> tuple[str, str] | None:
    """(dim, value) of the one-dimension rollups holding exactly these filters (none, one, or a
    pair in PAIRS, in DIMENSION_NAMES order), or None when only the cube / facts can answer."""
    if not chosen:
        return "", ""
    if len(chosen) == 1:
        return chosen[0][0], str(chosen[0][1])
    if len(chosen) == 2:
        (a, va), (b, vb) = sorted(chosen, key=lambda c: DIMENSION_NAMES.index(c[0]))
        if f"{a}+{b}" in PAIRS:
            return f"{a}+{b}", f"{va}|{vb}"
    return None


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


async def totals(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, int]:
    table, where, params = f.source()
    cur = await conn.cursor(row_factory=dict_row).execute(
        f"SELECT {SUM_COLUMNS} FROM {table} WHERE {where}", params
    )
    return {k: int(v) for k, v in (await cur.fetchone()).items()}


async def daily(conn: psycopg.AsyncConnection, f: Filters) -> list[tuple[date, dict[str, int]]]:
    """One entry per local day of the period (days with no data are zeros)."""
    table, where, params = f.source()
    cur = await conn.cursor(row_factory=dict_row).execute(
        f"SELECT (hour AT TIME ZONE %(tz)s)::date AS day, {SUM_COLUMNS} FROM {table} WHERE {where}"
        " GROUP BY 1 ORDER BY 1",
        params,
    )
    found = {row.pop("day"): {k: int(v) for k, v in row.items()} for row in await cur.fetchall()}
    return [
        (f.start + timedelta(days=i), found.get(f.start + timedelta(days=i), _zero())) for i in range(f.days)
    ]


async def weekday_hour(conn: psycopg.AsyncConnection, f: Filters) -> list[list[int]]:
    """Conversations created by local weekday (0 = Monday) × hour of day: 7 lists of 24."""
    table, where, params = f.source()
    cur = await conn.execute(
        "SELECT extract(isodow FROM hour AT TIME ZONE %(tz)s)::int - 1, extract(hour FROM hour AT TIME ZONE %(tz)s)::int,"
        f" sum(conversations)::bigint FROM {table} WHERE {where} GROUP BY 1, 2",
        params,
    )
    grid = [[0] * 24 for _ in range(7)]
    for dow, hour, n in await cur.fetchall():
        grid[dow][hour] = int(n)
    return grid


async def by_dimension(conn: psycopg.AsyncConnection, f: Filters, dimension: str) -> list[dict[str, Any]]:
    """Sums per value of one dimension (inbox_id, channel, team_id, agent_id or language)."""
    if dimension not in DIMENSION_NAMES:
        raise ValueError(dimension)
    if not f.set_filters() and f.contact_ids is None:  # the one-dimension rollup holds this split
        params = {"ws": f.workspace_id, "since": f.since, "until": f.until, "dim": dimension}
        cur = await conn.cursor(row_factory=dict_row).execute(
            f"SELECT value AS key, {SUM_COLUMNS} FROM report_hourly_dim WHERE workspace_id = %(ws)s AND dim = %(dim)s"
            " AND hour >= %(since)s AND hour < %(until)s GROUP BY 1",
            params,
        )
        rows = await cur.fetchall()
        for row in rows:
            if dimension.endswith("_id"):
                row["key"] = int(row["key"])
    else:
        table, where, params = f.source(cube=True)
        cur = await conn.cursor(row_factory=dict_row).execute(
            f"SELECT {dimension} AS key, {SUM_COLUMNS} FROM {table} WHERE {where} GROUP BY 1", params
        )
        rows = await cur.fetchall()
    rows.sort(key=lambda r: r["key"])
    return [{k: (int(v) if k in COUNTERS else v) for k, v in row.items()} for row in rows]


async def names(conn: psycopg.AsyncConnection, workspace_id: int) -> dict[str, dict[Any, str]]:
    """Display names of the workspace's inboxes, teams and agents."""
    out: dict[str, dict[Any, str]] = {}
    for key, sql in (
        ("inbox_id", "SELECT id, name FROM inboxes WHERE workspace_id = %s ORDER BY id"),
        ("team_id", "SELECT id, name FROM teams WHERE workspace_id = %s ORDER BY name"),
        (
            "agent_id",
            "SELECT id, coalesce(display_name, name) FROM agents WHERE workspace_id = %s AND is_active ORDER BY name",
        ),
    ):
        cur = await conn.execute(sql, (workspace_id,))
        out[key] = {row[0]: row[1] for row in await cur.fetchall()}
    return out


async def agent_live(conn: psycopg.AsyncConnection, workspace_id: int) -> dict[int, dict[str, Any]]:
    """Each agent's open load now (open or pending conversations assigned) and availability."""
    cur = await conn.execute(
        "SELECT a.id, coalesce(o.n, 0), s.availability::text, s.changed_at FROM agents a"
        " LEFT JOIN (SELECT assignee_id, count(*) AS n FROM conversations WHERE workspace_id = %(ws)s"
        "   AND status IN ('open', 'pending') AND assignee_id IS NOT NULL GROUP BY 1) o ON o.assignee_id = a.id"
        " LEFT JOIN agent_states s ON s.agent_id = a.id AND s.workspace_id = a.workspace_id"
        " WHERE a.workspace_id = %(ws)s",
        {"ws": workspace_id},
    )
    return {
        row[0]: {"open_load": int(row[1]), "availability": row[2] or "offline", "since": row[3]}
        for row in await cur.fetchall()
    }


def _conv_filters(f: Filters, contact_column: str = "c.contact_id") -> tuple[str, dict[str, Any]]:
    parts, params = [], {}
    for name, column in (("inbox_id", "c.inbox_id"), ("team_id", "c.team_id"), ("agent_id", "c.assignee_id")):
        value = getattr(f, name)
        if value is not None:
            parts.append(f"{column} = %({name})s")
            params[name] = value
    if f.language is not None:
        parts.append("coalesce(c.language, '') = %(language)s")
        params["language"] = f.language
    if f.channel is not None:
        parts.append(
            "c.inbox_id IN (SELECT id FROM inboxes WHERE workspace_id = %(ws)s AND channel_type::text = %(channel)s)"
        )
        params["channel"] = f.channel
    if f.contact_ids is not None:
        parts.append(f"{contact_column} = ANY(%(contacts)s)")
        params["contacts"] = list(f.contact_ids)
    return ("".join(" AND " + p for p in parts), params)


async def bot_lists(
    conn: psycopg.AsyncConnection, f: Filters, limit: int = 10
) -> dict[str, list[dict[str, Any]]]:
    """Handoff reasons, the most handed-off topics (the bot's intent) and the questions it could
    not answer (handoffs for low confidence), from the bot's per-conversation records (one row
    per bot conversation, read by the (workspace, outcome, outcome_at) index)."""
    extra, params = _conv_filters(f)
    params.update({"ws": f.workspace_id, "since": f.since, "until": f.until, "limit": limit})
    base = (
        "FROM bot_conversations b JOIN conversations c ON c.id = b.conversation_id"
        " WHERE b.workspace_id = %(ws)s AND b.outcome = 'handed_off' AND b.outcome_at >= %(since)s"
        f" AND b.outcome_at < %(until)s{extra}"
    )
    out: dict[str, list[dict[str, Any]]] = {}
    cur = await conn.execute(
        f"SELECT coalesce(b.handoff_reason, 'unknown'), count(*) {base} GROUP BY 1 ORDER BY 2 DESC, 1", params
    )
    out["handoff_reasons"] = [{"reason": r, "count": int(n)} for r, n in await cur.fetchall()]
    cur = await conn.execute(
        f"SELECT coalesce(b.intent, ''), count(*) {base} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %(limit)s",
        params,
    )
    out["handoff_topics"] = [{"topic": t, "count": int(n)} for t, n in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT lower(btrim(left(b.last_question, 200))) AS q, count(*), max(b.outcome_at)"
        f" {base} AND b.handoff_reason = 'low_confidence' AND b.last_question IS NOT NULL"
        " GROUP BY 1 ORDER BY 2 DESC, 3 DESC LIMIT %(limit)s",
        params,
    )
    out["unanswered_questions"] = [
        {"question": q, "count": int(n), "last_at": at.isoformat()} for q, n, at in await cur.fetchall()
    ]
    return out


async def survey_comments(conn: psycopg.AsyncConnection, f: Filters, limit: int = 20) -> list[dict[str, Any]]:
    """The latest answers with a comment in the period (newest first)."""
    extra, params = _conv_filters(f, "a.contact_id")
    params.update({"ws": f.workspace_id, "since": f.since, "until": f.until, "limit": limit})
    join = "LEFT JOIN conversations c ON c.id = a.conversation_id"
    if f.set_filters():  # a filter on the conversation leaves out answers given outside one
        join = "JOIN conversations c ON c.id = a.conversation_id"
    cur = await conn.execute(
        f"SELECT a.id, a.kind, a.score, a.comment, a.created_at, a.conversation_id FROM survey_answers a {join}"
        " WHERE a.workspace_id = %(ws)s AND a.created_at >= %(since)s AND a.created_at < %(until)s"
        f" AND a.comment IS NOT NULL AND a.comment <> ''{extra} ORDER BY a.created_at DESC, a.id DESC LIMIT %(limit)s",
        params,
    )
    return [
        {"id": i, "kind": k, "score": s, "comment": c, "created_at": at.isoformat(), "conversation_id": cid}
        for i, k, s, c, at, cid in await cur.fetchall()
    ]


def _churn_figures(days: int, at_start: int, lost: int) -> dict[str, Any]:
    return {
        "days": days,
        "customers_at_start": int(at_start),
        "lost": int(lost),
        "churn_pct": round(100.0 * lost / at_start, 1) if at_start else None,
    }


def _activity_where(f: Filters) -> tuple[str, dict[str, Any]] | None:
    """The activity rollup's slice for these filters: the workspace, one dimension or a pair in
    PAIRS, and the segment's customers; None otherwise (the facts answer)."""
    sliced = dim_slice(f.set_filters())
    if sliced is None:
        return None
    dim, value = sliced
    params: dict[str, Any] = {"ws": f.workspace_id, "dim": dim, "value": value}
    where = "a.workspace_id = %(ws)s AND a.dim = %(dim)s AND a.value = %(value)s"
    if f.contact_ids is not None:
        where += " AND a.contact_id = ANY(%(contacts)s)"
        params["contacts"] = list(f.contact_ids)
    return where, params


async def churn(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    """Customers active at the start s (a conversation in the N days before it), and those of
    them not active at the end e (none in the N days before e), from the activity rollup:
    each row is an hour a customer started a conversation, with their next such hour.

    Active at t = exactly one row per customer with hour in [t−N, t) and no next hour before t
    (their last activity before t). Lost = the customer's last activity before e lies in
    [s−N, e−N) (so not active at e), and they were active at s: always when that hour is
    before s; otherwise (a period longer than N) a probe for a row in [s−N, s)."""
    sliced = _activity_where(f)
    if sliced is None:
        return await churn_facts(conn, f)
    where, params = sliced
    n = timedelta(days=f.churn_days)
    s, e = f.since, f.until
    params.update({"s0": s - n, "s": s, "e0": e - n, "e": e})
    cur = await conn.execute(
        "SELECT"
        " (SELECT count(*) FROM report_contact_activity a WHERE "
        + where
        + " AND a.hour >= %(s0)s AND a.hour < %(s)s"
        "   AND (a.next_hour IS NULL OR a.next_hour >= %(s)s)),"
        " (SELECT count(*) FROM report_contact_activity a WHERE "
        + where
        + " AND a.hour >= %(s0)s AND a.hour < %(e0)s"
        "   AND (a.next_hour IS NULL OR a.next_hour >= %(e)s)"
        "   AND (a.hour < %(s)s OR EXISTS (SELECT 1 FROM report_contact_activity b"
        "        WHERE b.workspace_id = a.workspace_id AND b.contact_id = a.contact_id AND b.dim = a.dim"
        "          AND b.value = a.value AND b.hour >= %(s0)s AND b.hour < %(s)s)))",
        params,
    )
    at_start, lost = await cur.fetchone()
    return _churn_figures(f.churn_days, at_start, lost)


async def churn_facts(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    """Churn with filters the activity rollup does not slice (an agent and another, three or
    more): each customer's conversations started in the
    two windows, from the facts' partial covering index (ix_report_facts_started, one entry per
    conversation with its customer and dimensions; an index-only scan)."""
    params: dict[str, Any] = {
        "ws": f.workspace_id,
        "a0": f.since - timedelta(days=f.churn_days),
        "a1": f.since,
        "b0": f.until - timedelta(days=f.churn_days),
        "b1": f.until,
    }
    extra = ""
    for name, value in f.set_filters():
        extra += f" AND s.{name} = %({name})s"
        params[name] = value
    if f.contact_ids is not None:
        extra += " AND s.contact_id = ANY(%(contacts)s)"
        params["contacts"] = list(f.contact_ids)
    cur = await conn.execute(
        "WITH act AS (SELECT s.contact_id,"
        "   bool_or(s.hour >= %(a0)s AND s.hour < %(a1)s) AS at_start,"
        "   bool_or(s.hour >= %(b0)s AND s.hour < %(b1)s) AS at_end"
        "  FROM report_facts s WHERE s.workspace_id = %(ws)s AND s.conversations > 0"
        "   AND s.hour >= least(%(a0)s, %(b0)s) AND s.hour < %(b1)s"
        f"{extra} GROUP BY s.contact_id)"
        " SELECT count(*) FILTER (WHERE at_start), count(*) FILTER (WHERE at_start AND NOT at_end) FROM act",
        params,
    )
    at_start, lost = await cur.fetchone()
    return _churn_figures(f.churn_days, at_start, lost)


async def churn_scan(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    """The same figure read from the conversations themselves (each customer's activity on both
    sides), as it was before the activity rollup: the reference the tests compare with, and
    the benchmark's "before"."""
    days = f.churn_days
    extra, params = _conv_filters(f)
    params.update(
        {
            "ws": f.workspace_id,
            "a0": f.since - timedelta(days=days),
            "a1": f.since,
            "b0": f.until - timedelta(days=days),
            "b1": f.until,
        }
    )
    cur = await conn.execute(
        "WITH act AS (SELECT c.contact_id,"
        "   bool_or(c.created_at >= %(a0)s AND c.created_at < %(a1)s) AS at_start,"
        "   bool_or(c.created_at >= %(b0)s AND c.created_at < %(b1)s) AS at_end"
        "  FROM conversations c WHERE c.workspace_id = %(ws)s"
        "   AND c.created_at >= least(%(a0)s, %(b0)s) AND c.created_at < %(b1)s"
        f"{extra} GROUP BY c.contact_id)"
        " SELECT count(*) FILTER (WHERE at_start), count(*) FILTER (WHERE at_start AND NOT at_end) FROM act",
        params,
    )
    at_start, lost = await cur.fetchone()
    return _churn_figures(days, at_start, lost)
