"""The reports (overview, conversations, agents, bot, surveys, sentiment, help center) as plain data: the period
and the previous one, KPI figures with their change, and named tables. Charts, JSON and CSV
are all drawn from the same tables, so the CSV is exactly the chart's data."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from sodam.analytics import availability, insights, journeys
from sodam.analytics import kpis as K
from sodam.analytics import queries as Q
from sodam.analytics.queries import Filters

REPORTS = (
    "overview",
    "conversations",
    "agents",
    "bot",
    "surveys",
    "sentiment",
    "helpcenter",
    "retention",
    "journey",
)
# Each report's table a CSV download gives when none is named.
MAIN_TABLE = {
    "overview": "daily",
    "conversations": "daily",
    "agents": "agents",
    "bot": "daily",
    "surveys": "daily",
    "sentiment": "daily",
    "helpcenter": "most_searched",
    "retention": "cohorts",
    "journey": "paths",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def table(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"columns": columns, "rows": rows}


def _kpi_block(keys: list[str], now: dict[str, int], before: dict[str, int]) -> list[dict[str, Any]]:
    cur, prev = K.figures(now), K.figures(before)
    out = []
    for key in keys:
        kpi = K.BY_KEY[key]
        out.append(
            {
                "key": key,
                "unit": kpi.unit,
                "value": cur[key],
                "previous": prev[key],
                "change_pct": K.change(cur[key], prev[key]),
                "higher_is_better": kpi.higher_is_better,
            }
        )
    return out


def _period(f: Filters) -> dict[str, Any]:
    return {"from": f.start.isoformat(), "to": f.end.isoformat(), "tz": f.tz}


def _daily_table(days: list[tuple[date, dict[str, int]]], columns: list[str]) -> dict[str, Any]:
    rows = []
    for day, sums in days:
        values = K.figures(sums)
        rows.append([day.isoformat(), *[values[c] if c in values else sums.get(c, 0) for c in columns]])
    return table(["date", *columns], rows)


async def _frame(conn: psycopg.AsyncConnection, f: Filters) -> tuple[dict, dict, dict[str, Any]]:
    """The period's sums (from its days: one pass over the rollup), the previous period's, and
    the report's header; the days are kept in out["_days"] for the report's daily table."""
    days = await Q.daily(conn, f)
    now = {c: sum(d[c] for _, d in days) for c in K.COUNTERS}
    before = await Q.totals(conn, f.previous())
    header = {"period": _period(f), "previous_period": _period(f.previous()), "filters": _filters(f)}
    return now, before, {**header, "_days": days}


def _filters(f: Filters) -> dict[str, Any]:
    return {
        k: getattr(f, k) for k in ("inbox_id", "channel", "team_id", "agent_id", "language", "segment_id")
    }


async def overview(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    now, before, out = await _frame(conn, f)
    keys = [k.key for k in K.KPIS]
    out["kpis"] = _kpi_block(keys, now, before)
    churn_now, churn_before = await Q.churn(conn, f), await Q.churn(conn, f.previous())
    out["kpis"].append(
        {
            "key": K.CHURN.key,
            "unit": K.CHURN.unit,
            "value": churn_now["churn_pct"],
            "previous": churn_before["churn_pct"],
            "change_pct": K.change(churn_now["churn_pct"], churn_before["churn_pct"]),
            "higher_is_better": False,
        }
    )
    out["churn"] = churn_now
    days = out.pop("_days")
    out["tables"] = {
        "daily": _daily_table(
            days,
            [
                "conversations",
                "resolved",
                "first_response_s",
                "resolution_s",
                "csat_pct",
                "bot_containment_pct",
                "negative_pct",
            ],
        ),
        "kpis": table(
            ["kpi", "value", "previous", "change_pct"],
            [[k["key"], k["value"], k["previous"], k["change_pct"]] for k in out["kpis"]],
        ),
    }
    return out


async def conversations(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    now, before, out = await _frame(conn, f)
    out["kpis"] = _kpi_block(
        [
            "conversations",
            "first_response_s",
            "first_response_business_s",
            "unanswered",
            "resolved",
            "resolution_s",
            "fcr_pct",
            "reopen_pct",
        ],
        now,
        before,
    )
    days = out.pop("_days")
    grid = await Q.weekday_hour(conn, f)
    names = await Q.names(conn, f.workspace_id)
    by_channel = await Q.by_dimension(conn, f, "channel")
    by_inbox = await Q.by_dimension(conn, f, "inbox_id")
    cols = ["conversations", "resolved", "first_response_s", "resolution_s", "fcr_pct", "reopen_pct"]

    def dim_rows(rows, label):
        out_rows = []
        for row in rows:
            values = K.figures(row)
            out_rows.append([label(row["key"]), *[values[c] for c in cols]])
        return out_rows

    out["tables"] = {
        "daily": _daily_table(
            days,
            [
                "conversations",
                "resolved",
                "unanswered",
                "first_response_s",
                "resolution_s",
                "fcr_pct",
                "reopen_pct",
            ],
        ),
        "heatmap": table(
            ["weekday", *[f"h{h:02d}" for h in range(24)]], [[WEEKDAYS[d], *grid[d]] for d in range(7)]
        ),
        "by_channel": table(["channel", *cols], dim_rows(by_channel, lambda k: k or "")),
        "by_inbox": table(["inbox", *cols], dim_rows(by_inbox, lambda k: names["inbox_id"].get(k, f"#{k}"))),
        "percentiles": table(
            ["kpi", "count", "p50", "p90"],
            [[p["kpi"], p["count"], p["p50"], p["p90"]] for p in await insights.percentiles(conn, f)],
        ),
    }
    return out


async def agents(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    now, before, out = await _frame(conn, f)
    out.pop("_days")
    out["kpis"] = _kpi_block(["resolved", "first_response_s", "resolution_s", "csat_pct"], now, before)
    rows = {r["key"]: r for r in await Q.by_dimension(conn, f, "agent_id")}
    names = await Q.names(conn, f.workspace_id)
    live = await Q.agent_live(conn, f.workspace_id)
    online, online_daily = await availability.time_by_agent(conn, f)
    ids = [a for a in names["agent_id"] if f.agent_id is None or a == f.agent_id]
    ids += [a for a in rows if a and a not in ids]
    body = []
    for agent_id in ids:
        sums = rows.get(agent_id, {})
        values = K.figures(sums)
        state = live.get(agent_id, {})
        body.append(
            [
                agent_id,
                names["agent_id"].get(agent_id, f"#{agent_id}"),
                int(sums.get("resolved", 0)),
                int(sums.get("frt_count", 0)),
                values["first_response_s"],
                values["resolution_s"],
                values["csat_pct"],
                int(sums.get("csat_n", 0)),
                state.get("open_load", 0),
                state.get("availability", "offline"),
                *(online.get(agent_id, {}).get(s, 0) for s in availability.STATES),
            ]
        )
    out["tables"] = {
        "agents": table(
            [
                "agent_id",
                "agent",
                "handled",
                "first_responses",
                "first_response_s",
                "resolution_s",
                "csat_pct",
                "csat_answers",
                "open_load",
                "availability",
                "online_s",
                "busy_s",
                "away_s",
            ],
            body,
        ),
        "availability_daily": table(
            ["date", "agent_id", "agent", "online_s", "busy_s", "away_s"],
            [[r[0], r[1], names["agent_id"].get(r[1], f"#{r[1]}"), *r[2:]] for r in online_daily],
        ),
    }
    return out


async def bot(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    now, before, out = await _frame(conn, f)
    out["kpis"] = _kpi_block(
        ["bot_containment_pct", "bot_confirmed_pct", "bot_assumed_pct", "handoff_pct"], now, before
    )
    out["counts"] = {
        k: now[k]
        for k in (
            "bot_conversations",
            "bot_decided",
            "bot_contained",
            "bot_confirmed",
            "bot_assumed",
            "handoffs",
        )
    }
    days = out.pop("_days")
    lists = await Q.bot_lists(conn, f)
    out["tables"] = {
        "daily": _daily_table(
            days,
            [
                "bot_conversations",
                "bot_decided",
                "bot_contained",
                "bot_confirmed",
                "bot_assumed",
                "handoffs",
                "bot_containment_pct",
            ],
        ),
        "handoff_reasons": table(
            ["reason", "count"], [[r["reason"], r["count"]] for r in lists["handoff_reasons"]]
        ),
        "handoff_topics": table(
            ["topic", "count"], [[r["topic"], r["count"]] for r in lists["handoff_topics"]]
        ),
        "unanswered_questions": table(
            ["question", "count", "last_at"],
            [[r["question"], r["count"], r["last_at"]] for r in lists["unanswered_questions"]],
        ),
    }
    return out


async def surveys(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    now, before, out = await _frame(conn, f)
    out["kpis"] = _kpi_block(["csat_pct", "nps", "ces"], now, before)
    n = now["nps_n"]

    def pct(x: int) -> float | None:
        return round(100.0 * x / n, 1) if n else None

    days = out.pop("_days")
    comments = await Q.survey_comments(conn, f)
    out["tables"] = {
        "daily": _daily_table(days, ["csat_n", "csat_pct", "nps_n", "nps", "ces_n", "ces"]),
        "nps_split": table(
            ["group", "count", "pct"],
            [
                ["promoters", now["nps_promoters"], pct(now["nps_promoters"])],
                ["passives", now["nps_passives"], pct(now["nps_passives"])],
                ["detractors", now["nps_detractors"], pct(now["nps_detractors"])],
            ],
        ),
        "comments": table(
            ["created_at", "kind", "score", "comment", "conversation_id"],
            [[c["created_at"], c["kind"], c["score"], c["comment"], c["conversation_id"]] for c in comments],
        ),
    }
    return out


async def sentiment(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    now, before, out = await _frame(conn, f)
    out["kpis"] = _kpi_block(["negative_pct"], now, before)
    out["counts"] = {"scored": now["scored"], "negative": now["negative"]}
    days = out.pop("_days")
    topics = await insights.negative_topics(conn, f)
    out["tables"] = {
        "daily": _daily_table(days, ["scored", "negative", "negative_pct"]),
        "negative_topics": table(["topic", "messages"], [[t["topic"], t["messages"]] for t in topics]),
    }
    return out


async def helpcenter(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    """The help center: only the period applies (searches and reads carry no inbox, agent or
    customer)."""
    data = await insights.helpcenter(conn, f)
    return {
        "period": _period(f),
        "previous_period": _period(f.previous()),
        "filters": _filters(f),
        "kpis": [],
        "counts": data["totals"],
        "tables": {
            "most_searched": table(
                ["query", "searches", "no_result", "clicked"],
                [[r["query"], r["searches"], r["no_result"], r["clicked"]] for r in data["most_searched"]],
            ),
            "no_result": table(
                ["query", "searches", "last_at"],
                [[r["query"], r["searches"], r["last_at"]] for r in data["no_result"]],
            ),
            "most_read": table(
                ["article_id", "title", "locale", "views"],
                [[r["article_id"], r["title"], r["locale"], r["views"]] for r in data["most_read"]],
            ),
        },
    }


def _bare(f: Filters) -> dict[str, Any]:
    return {
        "period": _period(f),
        "previous_period": _period(f.previous()),
        "filters": _filters(f),
        "kpis": [],
    }


async def retention(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    """Retention and churn by cohort (month of first conversation), from the activity rollup."""
    return {**_bare(f), "churn_days": f.churn_days, "tables": await journeys.retention(conn, f)}


async def journey(conn: psycopg.AsyncConnection, f: Filters) -> dict[str, Any]:
    """The aggregate path of the customers who first wrote in the period."""
    return {**_bare(f), "churn_days": f.churn_days, "tables": await journeys.journey_path(conn, f)}


BUILDERS = {
    "overview": overview,
    "conversations": conversations,
    "agents": agents,
    "bot": bot,
    "surveys": surveys,
    "sentiment": sentiment,
    "helpcenter": helpcenter,
    "retention": retention,
    "journey": journey,
}


async def build(conn: psycopg.AsyncConnection, name: str, f: Filters) -> dict[str, Any]:
    """One report by name (the caller checked the name)."""
    return {"report": name, **(await BUILDERS[name](conn, f))}
