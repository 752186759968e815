"""Retention by cohort, the journey map's aggregate path, and one customer's journey.

All read pre-aggregated rows, never the event log:
- cohorts: the cohort rollup (`report_cohort_days`: per slice, cohort month and day, the
  customers whose first conversation of that month was that day — a few thousand rows) and,
  for "churned", one index-only range scan of the last N days' activity rows (each carries the
  customer's first hour, so their cohort). A segment, a report in another time zone than the
  rollup's months, or filters no slice holds read each customer's activity instead: the
  per-customer activity rollup (`report_contact_activity`), or the facts' covering index;
- the aggregate path: `report_contact_journey` (one row per customer: first hour and channel,
  last hour, conversation and survey counts), a range of its (workspace, first hour) index;
- one customer: their activity rows by channel (the rollup's primary key starts with the
  contact), their survey answers, campaigns and automation runs (each by its contact index).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from sodam.analytics import queries as Q
from sodam.analytics.queries import Filters
from sodam.analytics.rollup import COHORT_TZ

MAX_COHORTS = 24
MIN_COHORTS = 12
# Conversation-count buckets of the aggregate path (the middle step).
BUCKETS = ((1, 1, "1"), (2, 3, "2-3"), (4, 9, "4-9"), (10, None, "10+"))
OUTCOMES = ("loyal", "active", "churned")
LOYAL_CONVERSATIONS = 3


def _month(d: date) -> date:
    return d.replace(day=1)


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def cohort_months(f: Filters) -> list[date]:
    """The cohorts shown: the months of the period, at least the 12 months ending with the
    period's last month, at most 24."""
    last = _month(f.end)
    first = min(_month(f.start), _add_months(last, -(MIN_COHORTS - 1)))
    first = max(first, _add_months(last, -(MAX_COHORTS - 1)))
    return [_add_months(first, i) for i in range(months_between(first, last) + 1)]


async def _cohort_rows(
    conn: psycopg.AsyncConnection, f: Filters, m0: datetime
) -> list[tuple[date, date, int, int]]:
    sliced = Q.dim_slice(f.set_filters())
    if sliced is not None and f.contact_ids is None and f.tz == COHORT_TZ:
        return await _cohort_rows_rolled_up(conn, f, m0, sliced)
    return await _cohort_rows_per_customer(conn, f, m0)


async def _cohort_rows_rolled_up(
    conn: psycopg.AsyncConnection, f: Filters, m0: datetime, sliced: tuple[str, str]
) -> list[tuple[date, date, int, int]]:
    """The same rows from the cohort rollup: a month's active customers of a cohort up to the
    end are the sum of their first-of-the-month days before it; the recently active are the
    rows of the last N days that are each customer's last before the end."""
    params: dict[str, Any] = {
        "ws": f.workspace_id,
        "dim": sliced[0],
        "value": sliced[1],
        "c0": m0.date(),
        "end": f.end,
        "m0": m0,
        "until": f.until,
        "recent": f.until - timedelta(days=f.churn_days),
    }
    cur = await conn.execute(
        "SELECT cohort, date_trunc('month', day)::date, sum(customers)::int FROM report_cohort_days"
        " WHERE workspace_id = %(ws)s AND dim = %(dim)s AND value = %(value)s AND cohort >= %(c0)s"
        " AND day <= %(end)s GROUP BY 1, 2 HAVING sum(customers) > 0",
        params,
    )
    active = {(c, m): n for c, m, n in await cur.fetchall()}
    cur = await conn.execute(
        f"SELECT date_trunc('month', a.first_hour AT TIME ZONE '{COHORT_TZ}')::date, count(*)::int"
        " FROM report_contact_activity a WHERE a.workspace_id = %(ws)s AND a.dim = %(dim)s"
        " AND a.value = %(value)s AND a.hour >= %(recent)s AND a.hour < %(until)s"
        " AND (a.next_hour IS NULL OR a.next_hour >= %(until)s) AND a.first_hour >= %(m0)s GROUP BY 1",
        params,
    )
    recent = dict(await cur.fetchall())
    return [(c, m, n, recent.get(c, 0) if c == m else 0) for (c, m), n in sorted(active.items())]


async def _cohort_rows_per_customer(
    conn: psycopg.AsyncConnection, f: Filters, m0: datetime
) -> list[tuple[date, date, int, int]]:
    """(cohort month, active month, customers, of them active in the last N days — in the cohort
    month's row, 0 in the others) for customers
    whose first conversation (in the filters' slice) is at or after m0 and before the end."""
    recent = f.until - timedelta(days=f.churn_days)
    params: dict[str, Any] = {"ws": f.workspace_id, "tz": f.tz, "m0": m0, "until": f.until, "recent": recent}
    sliced = Q.dim_slice(f.set_filters())
    segment = ""
    if f.contact_ids is not None:
        params["contacts"] = list(f.contact_ids)
        segment = " AND a.contact_id = ANY(%(contacts)s)"
    if sliced is not None:
        params.update(dim=sliced[0], value=sliced[1])
        act = (
            "SELECT a.contact_id, a.hour FROM report_contact_activity a WHERE a.workspace_id = %(ws)s"
            " AND a.dim = %(dim)s AND a.value = %(value)s AND a.hour >= %(m0)s AND a.hour < %(until)s"
            + segment
        )
        # Earlier customers (a row before m0 in the same slice: the primary key's probe) are
        # not in these cohorts.
        earlier = (
            "EXISTS (SELECT 1 FROM report_contact_activity b WHERE b.contact_id = k.contact_id"
            " AND b.workspace_id = %(ws)s AND b.dim = %(dim)s AND b.value = %(value)s AND b.hour < %(m0)s)"
        )
    else:  # filters the rollup does not slice: the conversations' facts (index-only)
        extra = "".join(f" AND a.{name} = %({name})s" for name, _ in f.set_filters())
        params.update(dict(f.set_filters()))
        act = (
            "SELECT a.contact_id, a.hour FROM report_facts a WHERE a.workspace_id = %(ws)s AND a.conversations > 0"
            " AND a.hour >= %(m0)s AND a.hour < %(until)s AND a.contact_id IS NOT NULL" + extra + segment
        )
        earlier = (
            "EXISTS (SELECT 1 FROM report_facts b WHERE b.workspace_id = %(ws)s AND b.contact_id = k.contact_id"
            " AND b.conversations > 0 AND b.hour < %(m0)s"
            + "".join(f" AND b.{name} = %({name})s" for name, _ in f.set_filters())
            + ")"
        )
    cur = await conn.execute(
        f"WITH act AS (SELECT contact_id, date_trunc('month', hour AT TIME ZONE %(tz)s)::date AS m, max(hour) AS last"
        f"   FROM ({act}) x GROUP BY 1, 2),"
        " k AS (SELECT contact_id, min(m) AS c, max(last) AS last FROM act GROUP BY 1)"
        " SELECT k.c, a.m, count(*), count(*) FILTER (WHERE k.last >= %(recent)s)"
        f"  FROM act a JOIN k USING (contact_id) WHERE NOT {earlier} GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
    return [(c, m, int(n), int(r) if c == m else 0) for c, m, n, r in await cur.fetchall()]


async def retention(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    """Cohorts by month of first conversation: size, the share active (a conversation started)
    in each month after, and the share churned (none in the last N days before the end)."""
    months = cohort_months(f)
    m0 = datetime.combine(months[0], datetime.min.time(), f.zone)
    rows = await _cohort_rows(conn, f, m0)
    last = _month(f.end)
    width = months_between(months[0], last) + 1
    sizes: dict[date, int] = {}
    active_now: dict[date, int] = {}
    active: dict[tuple[date, int], int] = {}
    for c, m, n, recent in rows:
        k = months_between(c, m)
        active[(c, k)] = n
        if k == 0:
            sizes[c], active_now[c] = n, recent
    pct_rows, count_rows = [], []
    for c in months:
        size = sizes.get(c, 0)
        span = months_between(c, last) + 1  # months 0..span-1 have happened (the last maybe partly)
        counts = [active.get((c, k), 0) if k < span else None for k in range(width)]
        pcts = [(round(100.0 * v / size, 1) if size else None) if v is not None else None for v in counts]
        churned = round(100.0 * (size - active_now.get(c, 0)) / size, 1) if size else None
        label = c.strftime("%Y-%m")
        pct_rows.append([label, size, *pcts, churned])
        count_rows.append([label, size, *counts])
    month_cols = [f"m{k}" for k in range(width)]
    # The size-weighted mean curve over the cohorts that reached each month.
    curve = []
    for k in range(width):
        reached = [(sizes.get(c, 0), active.get((c, k), 0)) for c in months if months_between(c, last) >= k]
        total = sum(s for s, _ in reached)
        curve.append(
            [f"m{k}", total, round(100.0 * sum(a for _, a in reached) / total, 1) if total else None]
        )
    return {
        "cohorts": {"columns": ["cohort", "customers", *month_cols, "churned_pct"], "rows": pct_rows},
        "cohort_customers": {"columns": ["cohort", "customers", *month_cols], "rows": count_rows},
        "retention_curve": {"columns": ["month", "customers", "retention_pct"], "rows": curve},
    }


def _bucket(n: int) -> str:
    for low, high, label in BUCKETS:
        if n >= low and (high is None or n <= high):
            return label
    return BUCKETS[0][2]


def _csat(pos: int, n: int) -> float | None:
    return round(100.0 * pos / n, 1) if n else None


def _nps(promoters: int, detractors: int, n: int) -> float | None:
    return round(100.0 * (promoters - detractors) / n, 1) if n else None


async def journey_path(
    conn: psycopg.AsyncConnection, f: Filters, *, now: datetime | None = None
) -> dict[str, Any]:
    """Customers whose first conversation falls in the period, grouped by their path: first
    channel → how many conversations they have had → where they are now (churned: none in
    the last N days; loyal: active with 3 conversations or more; active: the others), with the
    CSAT and NPS of each step. Only the channel filter and the segment apply (a path is the
    customer's, across inboxes, teams and agents)."""
    now = now or datetime.now(UTC)
    params: dict[str, Any] = {
        "ws": f.workspace_id,
        "since": f.since,
        "until": f.until,
        "recent": now - timedelta(days=f.churn_days),
        "loyal": LOYAL_CONVERSATIONS,
    }
    extra = ""
    if f.channel is not None:
        extra += " AND j.first_channel = %(channel)s"
        params["channel"] = f.channel
    if f.contact_ids is not None:
        extra += " AND j.contact_id = ANY(%(contacts)s)"
        params["contacts"] = list(f.contact_ids)
    cur = await conn.execute(
        "SELECT j.first_channel, j.conversations,"
        " CASE WHEN j.last_hour < %(recent)s THEN 'churned' WHEN j.conversations >= %(loyal)s THEN 'loyal'"
        "      ELSE 'active' END,"
        " count(*), sum(j.csat_n), sum(j.csat_pos), sum(j.nps_n), sum(j.nps_promoters), sum(j.nps_detractors)"
        " FROM report_contact_journey j WHERE j.workspace_id = %(ws)s AND j.first_hour >= %(since)s"
        f" AND j.first_hour < %(until)s{extra} GROUP BY 1, 2, 3",
        params,
    )
    paths: dict[tuple[str, str, str], list[int]] = {}
    for channel, convs, outcome, n, cn, cp, nn, npro, ndet in await cur.fetchall():
        key = (channel or "", _bucket(int(convs)), outcome)
        acc = paths.setdefault(key, [0, 0, 0, 0, 0, 0])
        for i, v in enumerate((n, cn, cp, nn, npro, ndet)):
            acc[i] += int(v or 0)
    order_b = [b[2] for b in BUCKETS]
    keys = sorted(paths, key=lambda k: (k[0], order_b.index(k[1]), OUTCOMES.index(k[2])))
    path_rows = [
        [ch, b, o, paths[(ch, b, o)][0], _csat(paths[(ch, b, o)][2], paths[(ch, b, o)][1]),
         _nps(paths[(ch, b, o)][4], paths[(ch, b, o)][5], paths[(ch, b, o)][3])]
        for ch, b, o in keys
    ]  # fmt: skip

    def step(index: int, order: list[str]) -> list[list[Any]]:
        acc: dict[str, list[int]] = {}
        for key, v in paths.items():
            a = acc.setdefault(key[index], [0] * 6)
            for i in range(6):
                a[i] += v[i]
        names = sorted(acc, key=lambda x: (order.index(x) if x in order else len(order), x))
        return [[name, acc[name][0], _csat(acc[name][2], acc[name][1]), _nps(acc[name][4], acc[name][5], acc[name][3])]
                for name in names]  # fmt: skip

    steps = (
        [["first_channel", *r] for r in step(0, [])]
        + [["conversations", *r] for r in step(1, order_b)]
        + [["outcome", *r] for r in step(2, list(OUTCOMES))]
    )
    return {
        "paths": {
            "columns": ["channel", "bucket", "outcome", "customers", "csat_pct", "nps"],
            "rows": path_rows,
        },
        "steps": {"columns": ["step", "group", "customers", "csat_pct", "nps"], "rows": steps},
    }


async def contact_journey(
    conn: psycopg.AsyncConnection, *, workspace_id: int, contact_id: int, tz: str
) -> dict:
    """One customer's touchpoints over time (conversations per channel and day, survey answers
    with their scores, campaigns and automations received) and satisfaction over time. None
    when the contact is not in this workspace."""
    cur = await conn.execute(
        "SELECT id, name, created_at FROM contacts WHERE workspace_id = %s AND id = %s",
        (workspace_id, contact_id),
    )
    contact = await cur.fetchone()
    if contact is None:
        return None
    params = {"ws": workspace_id, "c": contact_id, "tz": tz}
    cur = await conn.execute(
        "SELECT (hour AT TIME ZONE %(tz)s)::date, value, sum(conversations)::int FROM report_contact_activity"
        " WHERE contact_id = %(c)s AND workspace_id = %(ws)s AND dim = 'channel' GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
    touch: list[list[Any]] = [
        [d.isoformat(), "conversation", ch, n, None, None] for d, ch, n in await cur.fetchall()
    ]
    cur = await conn.execute(
        "SELECT created_at, kind, score, conversation_id FROM survey_answers WHERE workspace_id = %(ws)s"
        " AND contact_id = %(c)s AND score IS NOT NULL ORDER BY created_at, id LIMIT 500",
        params,
    )
    answers = await cur.fetchall()
    zone = Filters(workspace_id, date.today(), date.today(), tz=tz).zone
    for at, kind, score, conv in answers:
        touch.append([at.astimezone(zone).date().isoformat(), "survey", kind, 1, score, conv])
    cur = await conn.execute(
        "SELECT r.sent_at, c.name, c.channel, r.status FROM campaign_recipients r"
        " JOIN campaigns c ON c.id = r.campaign_id WHERE r.workspace_id = %(ws)s AND r.contact_id = %(c)s"
        " AND r.sent_at IS NOT NULL ORDER BY 1 LIMIT 200",
        params,
    )
    for at, name, channel, status in await cur.fetchall():
        touch.append(
            [
                at.astimezone(zone).date().isoformat(),
                "campaign",
                f"{name} ({channel}, {status})",
                1,
                None,
                None,
            ]
        )
    cur = await conn.execute(
        "SELECT r.created_at, a.name, r.status FROM automation_runs r JOIN automation_rules a ON a.id = r.rule_id"
        " WHERE r.workspace_id = %(ws)s AND r.contact_id = %(c)s ORDER BY r.created_at LIMIT 200",
        params,
    )
    for at, name, status in await cur.fetchall():
        touch.append(
            [at.astimezone(zone).date().isoformat(), "automation", f"{name} ({status})", 1, None, None]
        )
    touch.sort(key=lambda r: (r[0], r[1], str(r[2])))
    by_channel: dict[str, list[Any]] = {}
    for day, kind, ch, n, _, _ in touch:
        if kind == "conversation":
            entry = by_channel.setdefault(ch, [ch, 0, day, day])
            entry[1] += n
            entry[3] = day
    # Satisfaction over time: each CSAT (1-5), NPS (0-10) and CES (1-7) answer by its day.
    satisfaction = [[at.astimezone(zone).date().isoformat(), kind, score] for at, kind, score, _ in answers]
    return {
        "contact": {"id": contact[0], "name": contact[1], "created_at": contact[2].isoformat()},
        "tables": {
            "touchpoints": {
                "columns": ["date", "type", "detail", "count", "score", "conversation_id"],
                "rows": touch,
            },
            "channels": {
                "columns": ["channel", "conversations", "first", "last"],
                "rows": sorted(by_channel.values(), key=lambda r: r[2]),
            },
            "satisfaction": {"columns": ["date", "kind", "score"], "rows": satisfaction},
        },
        "notes": {"helpcenter_reads": "not tracked per customer"},
    }
