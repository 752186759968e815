"""Console: 보고서 (reports) — overview, conversations, agents, bot, surveys, sentiment, help
center; customers at risk of churning; the weekly insights digest. A GET form of filters (period
in Korea's time zone, inbox, channel, team, agent, language, segment); KPI tiles with
the change against the previous period; server-drawn SVG charts, each with its table and a
CSV link (/console/reports/{name}/csv?table=…, the same rows as the API's CSV)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import text

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.analytics import api as reports_api
from sodam.analytics import charts, churnrisk, digest, journey_charts, readdb, service
from sodam.analytics import kpis as K
from sodam.analytics import queries as Q
from sodam.analytics.params import CHANNELS
from sodam.analytics.queries import Filters
from sodam.core.errors import AppError
from sodam.core.params import IdPath
from sodam.segments import service as segments_service

router = APIRouter(prefix="/console", include_in_schema=False)
Reader = Depends(console_access(Permission.reports_read))
FILTER_KEYS = ("from", "to", "inbox_id", "channel", "team_id", "agent_id", "language", "segment_id")
# Daily series drawn as lines, per report: (title key, columns).
LINES: dict[str, list[tuple[str, list[str]]]] = {
    "overview": [
        ("reports.chart.volume", ["conversations", "resolved"]),
        ("reports.chart.times", ["first_response_s", "resolution_s"]),
        ("reports.chart.rates", ["csat_pct", "bot_containment_pct", "negative_pct"]),
    ],
    "conversations": [
        ("reports.chart.volume", ["conversations", "resolved", "unanswered"]),
        ("reports.chart.times", ["first_response_s", "resolution_s"]),
        ("reports.chart.rates", ["fcr_pct", "reopen_pct"]),
    ],
    "bot": [("reports.chart.bot", ["bot_contained", "bot_confirmed", "bot_assumed", "handoffs"])],
    "surveys": [("reports.chart.csat", ["csat_pct"]), ("reports.chart.nps_ces", ["nps", "ces"])],
    "sentiment": [("reports.chart.sentiment", ["negative_pct"])],
}
# Tables drawn as bars: table → (label column, value column, title key).
BARS: dict[str, tuple[str, str, str]] = {
    "by_channel": ("channel", "conversations", "reports.table.by_channel"),
    "by_inbox": ("inbox", "conversations", "reports.table.by_inbox"),
    "agents": ("agent", "handled", "reports.table.agents"),
    "handoff_reasons": ("reason", "count", "reports.table.handoff_reasons"),
    "handoff_topics": ("topic", "count", "reports.table.handoff_topics"),
    "nps_split": ("group", "count", "reports.table.nps_split"),
    "negative_topics": ("topic", "messages", "reports.table.negative_topics"),
    "most_searched": ("query", "searches", "reports.table.most_searched"),
}
TABLE_TITLES = {
    "daily": "reports.table.daily",
    "kpis": "reports.table.kpis",
    "heatmap": "reports.table.heatmap",
    "unanswered_questions": "reports.table.unanswered_questions",
    "comments": "reports.table.comments",
    "percentiles": "reports.table.percentiles",
    "availability_daily": "reports.table.availability_daily",
    "cohorts": "reports.table.cohorts",
    "cohort_customers": "reports.table.cohort_customers",
    "retention_curve": "reports.table.retention_curve",
    "paths": "reports.table.paths",
    "steps": "reports.table.steps",
    "touchpoints": "reports.table.touchpoints",
    "channels": "reports.table.channels",
    "satisfaction": "reports.table.satisfaction",
    "no_result": "reports.table.no_result",
    "most_read": "reports.table.most_read",
}
# Values shown through the catalog (channel, weekday, handoff reason, NPS group, availability).
VALUE_KEYS = {
    "channel": "reports.channel.",
    "weekday": "reports.weekday.",
    "reason": "reports.reason.",
    "group": "reports.nps.",
    "availability": "reports.availability.",
    "kpi": "reports.kpi.",
    "kind": "reports.kind.",
    "type": "reports.kind.",
    "outcome": "reports.outcome.",
    "step": "reports.step.",
}
# Columns of seconds that are not KPIs (the agents' time online / busy / away).
DURATIONS = {"online_s", "busy_s", "away_s"}


# The churn model's features and their direction, as the at-risk list explains a score.
FEATURE_KEYS = {
    ("days_since_last", "high"): "reports.churn.feature.days_since_last.high",
    ("days_since_last", "low"): "reports.churn.feature.days_since_last.low",
    ("conversations_30d", "high"): "reports.churn.feature.conversations_30d.high",
    ("conversations_30d", "low"): "reports.churn.feature.conversations_30d.low",
    ("conversations_prev_60d", "high"): "reports.churn.feature.conversations_prev_60d.high",
    ("conversations_prev_60d", "low"): "reports.churn.feature.conversations_prev_60d.low",
    ("csat_last", "high"): "reports.churn.feature.csat_last.high",
    ("csat_last", "low"): "reports.churn.feature.csat_last.low",
    ("csat_missing", "high"): "reports.churn.feature.csat_missing.high",
    ("csat_missing", "low"): "reports.churn.feature.csat_missing.low",
    ("nps_last", "high"): "reports.churn.feature.nps_last.high",
    ("nps_last", "low"): "reports.churn.feature.nps_last.low",
    ("nps_missing", "high"): "reports.churn.feature.nps_missing.high",
    ("nps_missing", "low"): "reports.churn.feature.nps_missing.low",
    ("negative_share", "high"): "reports.churn.feature.negative_share.high",
    ("negative_share", "low"): "reports.churn.feature.negative_share.low",
    ("reopened_180d", "high"): "reports.churn.feature.reopened_180d.high",
    ("reopened_180d", "low"): "reports.churn.feature.reopened_180d.low",
    ("unanswered_180d", "high"): "reports.churn.feature.unanswered_180d.high",
    ("unanswered_180d", "low"): "reports.churn.feature.unanswered_180d.low",
    ("wait_hours", "high"): "reports.churn.feature.wait_hours.high",
    ("wait_hours", "low"): "reports.churn.feature.wait_hours.low",
}


def _duration(ctx: Console, seconds: float) -> str:
    if seconds < 60:
        return ctx.t("reports.unit.seconds", n=f"{seconds:.0f}")
    if seconds < 3600:
        return ctx.t("reports.unit.minutes", n=f"{seconds / 60:.1f}")
    return ctx.t("reports.unit.hours", n=f"{seconds / 3600:.1f}")


def shown(ctx: Console, unit: str, value: Any) -> str:
    if value is None:
        return "—"
    if unit == "seconds":
        return _duration(ctx, float(value))
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "score":
        return f"{value:g}"
    return f"{value:,}"


def _label(ctx: Console, column: str) -> str:
    kpi = K.BY_KEY.get(column)
    if kpi is not None:
        return kpi.label(ctx.locale)
    if len(column) == 3 and column[0] == "h" and column[1:].isdigit():  # the heatmap's hours
        return ctx.t("reports.col.hour", n=int(column[1:]))
    if column[:1] == "m" and column[1:].isdigit():  # the cohort triangle's months
        return ctx.t("reports.col.month_n", n=int(column[1:]))
    return ctx.t(f"reports.col.{column}")


def _row_unit(columns: list[str], row: list[Any]) -> str | None:
    """A summary row names its KPI (column "kpi"): its value columns take that KPI's unit."""
    if "kpi" not in columns:
        return None
    kpi = K.BY_KEY.get(row[columns.index("kpi")])
    return kpi.unit if kpi else None


def _cell(ctx: Console, column: str, value: Any, row_unit: str | None = None) -> str:
    if value is None:
        return "—"
    kpi = K.BY_KEY.get(column)
    unit = (
        kpi.unit if kpi is not None else (row_unit if column in ("value", "previous", "p50", "p90") else None)
    )
    if (unit == "seconds" or column in DURATIONS) and isinstance(value, int | float):
        return _duration(ctx, float(value))  # "3.2시간", not 11,568.0
    if column in ("name", "detail") and isinstance(value, str):  # a channel, an outcome, a survey kind
        for prefix in ("reports.channel.", "reports.outcome.", "reports.kind."):
            if ctx.t(prefix + value) != prefix + value:
                return ctx.t(prefix + value)
    prefix = VALUE_KEYS.get(column)
    if prefix and isinstance(value, str) and value:
        if column == "kpi":
            kpi = K.BY_KEY.get(value)
            return kpi.label(ctx.locale) if kpi else K.CHURN.label(ctx.locale)
        text = ctx.t(prefix + value)
        return value if text == prefix + value else text
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _blocks(ctx: Console, name: str, data: dict[str, Any], query: str) -> list[dict[str, Any]]:
    """Each table of the report with its chart (if any), shown labels and CSV link."""
    tables = data["tables"]
    blocks: list[dict[str, Any]] = []
    daily = tables.get("daily")
    if daily and name in LINES:
        labels = [row[0][5:] for row in daily["rows"]]  # MM-DD
        for title_key, columns in LINES[name]:
            series = [
                (_label(ctx, c), [row[daily["columns"].index(c)] for row in daily["rows"]]) for c in columns
            ]
            blocks.append(
                {
                    "chart": charts.line_chart(
                        labels,
                        series,
                        title=ctx.t(title_key),
                        chart_id=f"chart-{title_key.rsplit('.', 1)[1]}",
                    ),
                    "title": ctx.t(title_key),
                    "table": None,
                }
            )
    for table_name, table in tables.items():
        chart = None
        if table_name in BARS and table["rows"]:
            label_col, value_col, title_key = BARS[table_name]
            li, vi = table["columns"].index(label_col), table["columns"].index(value_col)
            chart = charts.bar_chart(
                [_cell(ctx, label_col, row[li]) or "—" for row in table["rows"]],
                [row[vi] for row in table["rows"]],
                title=ctx.t(title_key),
                chart_id=f"chart-{table_name}",
            )
        elif table_name == "retention_curve" and table["rows"]:
            chart = charts.line_chart(
                [row[0] for row in table["rows"]],
                [(ctx.t("reports.col.retention_pct"), [row[2] for row in table["rows"]])],
                title=ctx.t("reports.table.retention_curve"),
                chart_id="chart-retention_curve",
            )
        elif table_name == "paths" and table["rows"]:
            chart = journey_charts.flow_chart(ctx.t, lambda k: _cell(ctx, "channel", k) or "—", table)
        elif table_name == "satisfaction" and table["rows"]:
            chart = journey_charts.satisfaction_chart(ctx.t, table)
        elif table_name == "heatmap":
            chart = charts.heatmap(
                [_cell(ctx, "weekday", row[0]) for row in table["rows"]],
                [row[1:] for row in table["rows"]],
                title=ctx.t("reports.table.heatmap"),
                chart_id="chart-heatmap",
            )
        title_key = (
            BARS[table_name][2] if table_name in BARS else TABLE_TITLES.get(table_name, "reports.title")
        )
        blocks.append(
            {
                "name": table_name,
                "title": ctx.t(title_key),
                "chart": chart,
                "table": {
                    "columns": [_label(ctx, c) for c in table["columns"]],
                    "rows": [
                        [
                            _cell(ctx, c, v, _row_unit(table["columns"], row))
                            for c, v in zip(table["columns"], row, strict=True)
                        ]
                        for row in table["rows"]
                    ],
                },
                "shade": journey_charts.shade(table) if table_name == "cohorts" else None,
                "open": table_name in ("cohorts", "steps", "touchpoints"),
                "csv_url": f"/console/reports/{name}/csv?"
                + urlencode({**dict(_pairs(query)), "table": table_name}),
            }
        )
    return blocks


def _pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return [(k, v) for k, v in parse_qsl(query) if k in FILTER_KEYS and v]


@router.get("/reports")
async def reports_home(ctx: Console = Reader):
    return RedirectResponse("/console/reports/overview", status_code=303)


@router.get("/reports/churn-risk")
async def churn_risk_page(segment_id: str | None = Query(default=None, max_length=18), ctx: Console = Reader):
    """Customers at risk of churning (the nightly model's scores), with the model's held-out AUC."""
    error = None
    seg = int(segment_id) if segment_id and segment_id.isdigit() else None
    filters = Filters(ctx.workspace_id, date.today(), date.today(), segment_id=seg)
    try:
        filters = await reports_api.with_segment(ctx.session, filters)
    except AppError as exc:
        error, filters = exc.message, replace(filters, segment_id=None)
    async with readdb.connection() as conn:
        model = await churnrisk.latest_model(conn, ctx.workspace_id)
        customers = await churnrisk.at_risk(
            conn, workspace_id=ctx.workspace_id, limit=100, contact_ids=filters.contact_ids
        )
    for c in customers:
        c["why"] = [
            ctx.t(FEATURE_KEYS[(t["feature"], t.get("direction", "high"))])
            for t in c["features"].get("top", [])
            if (t["feature"], t.get("direction", "high")) in FEATURE_KEYS
        ]
    return ctx.render(
        "reports/churn_risk.html",
        {
            "section": "reports",
            "report": "churn-risk",
            "reports": service.REPORTS,
            "model": model,
            "customers": customers,
            "segments": await _segments(ctx),
            "segment_id": filters.segment_id,
            "error": error,
            "query": "",
        },
    )


@router.get("/reports/digest")
async def digest_page(week: str | None = Query(default=None, max_length=10), ctx: Console = Reader):
    """The weekly insights digest (주간 인사이트) and the e-mail subscription."""
    error = None
    try:
        monday = digest.parse_week(week, digest.today_in("Asia/Seoul"))
    except AppError as exc:
        error, monday = exc.message, digest.parse_week(None, digest.today_in("Asia/Seoul"))
    async with readdb.connection() as conn:
        data = await digest.build(conn, workspace_id=ctx.workspace_id, week=monday)
    subscribed = await digest_subscribed(ctx)
    for c in data["changes"]:
        c["label"] = K.BY_KEY[c["kpi"]].label(ctx.locale)
        c["shown"], c["shown_previous"] = (
            shown(ctx, c["unit"], c["value"]),
            shown(ctx, c["unit"], c["previous"]),
        )
        c["good"] = None if c["change_pct"] in (None, 0) else (c["change_pct"] > 0) == c["higher_is_better"]
    return ctx.render(
        "reports/digest.html",
        {
            "section": "reports",
            "report": "digest",
            "reports": service.REPORTS,
            "digest": data,
            "subscribed": subscribed,
            "error": error,
            "query": "",
            "previous_week": (monday - timedelta(days=7)).isoformat(),
            "next_week": (monday + timedelta(days=7)).isoformat(),
        },
    )


async def digest_subscribed(ctx: Console) -> bool:
    row = await ctx.session.execute(
        text("SELECT 1 FROM report_digest_subscribers WHERE workspace_id = :ws AND agent_id = :a"),
        {"ws": ctx.workspace_id, "a": ctx.agent.id},
    )
    return row.first() is not None


@router.post("/reports/digest/subscription")
async def digest_subscription(request: Request, ctx: Console = Reader):
    """Subscribe to (subscribed=1) or leave (subscribed=0) the weekly digest e-mail."""
    form = await request.form()
    on = str(form.get("subscribed", "")) == "1"
    if on:
        await ctx.session.execute(
            text(
                "INSERT INTO report_digest_subscribers (workspace_id, agent_id) VALUES (:ws, :a) ON CONFLICT DO NOTHING"
            ),
            {"ws": ctx.workspace_id, "a": ctx.agent.id},
        )
    else:
        await ctx.session.execute(
            text("DELETE FROM report_digest_subscribers WHERE workspace_id = :ws AND agent_id = :a"),
            {"ws": ctx.workspace_id, "a": ctx.agent.id},
        )
    await ctx.session.commit()
    return RedirectResponse("/console/reports/digest?saved=1", status_code=303)


async def _segments(ctx: Console) -> list[tuple[int, str]]:
    rows = await segments_service.list_(ctx.session, workspace_id=ctx.workspace_id, limit=200)
    return sorted(((s.id, s.name) for s in rows), key=lambda r: r[1])


@router.get("/reports/journey/contacts/{contact_id}/csv")
async def contact_journey_csv(
    contact_id: IdPath, table: str | None = Query(default=None, max_length=40), ctx: Console = Reader
):
    """One table of a customer's journey as CSV."""
    data = await reports_api.contact_journey_data(ctx.workspace_id, contact_id, "Asia/Seoul")
    return reports_api.csv_response(data, table or "touchpoints")


@router.get("/reports/journey/contacts/{contact_id}")
async def contact_journey_page(contact_id: IdPath, ctx: Console = Reader):
    """One customer's journey map: touchpoints and satisfaction over time."""
    data = await reports_api.contact_journey_data(ctx.workspace_id, contact_id, "Asia/Seoul")
    blocks = _blocks(ctx, "journey", data, "")
    for b in blocks:
        b["csv_url"] = f"/console/reports/journey/contacts/{contact_id}/csv?" + urlencode(
            {"table": b["name"]}
        )
    return ctx.render(
        "reports/contact_journey.html",
        {"section": "reports", "report": "journey", "reports": service.REPORTS, "query": "", "data": data,
         "blocks": blocks},
    )  # fmt: skip


@router.get("/reports/journey/contact")
async def contact_journey_pick(
    contact_id: str | None = Query(default=None, max_length=18), ctx: Console = Reader
):
    """The journey report's "one customer" box: to that customer's journey."""
    if contact_id and contact_id.strip().isdigit():
        return RedirectResponse(f"/console/reports/journey/contacts/{int(contact_id)}", status_code=303)
    return RedirectResponse("/console/reports/journey", status_code=303)


@router.get("/reports/{name}/csv")
async def report_csv(
    name: str, table: str | None = Query(default=None, max_length=40), ctx: Console = Reader
):
    """One table of a report as CSV (the rows its chart draws)."""
    data = await reports_api.report_data(name, ctx.request.query_params, ctx.workspace_id, ctx.session)
    return reports_api.csv_response(data, table)


@router.get("/reports/{name}")
async def report_page(name: str, ctx: Console = Reader):
    if name not in service.REPORTS:
        return RedirectResponse("/console/reports/overview", status_code=303)
    query = urlencode(_pairs(str(ctx.request.url.query)))
    error = None
    try:
        data = await reports_api.report_data(name, ctx.request.query_params, ctx.workspace_id, ctx.session)
    except AppError as exc:  # a bad filter: say so and show the default period
        error = exc.message
        data = await reports_api.report_data(name, {}, ctx.workspace_id, ctx.session)
        query = ""
    async with readdb.connection() as conn:
        names = await Q.names(conn, ctx.workspace_id)
    names["segment_id"] = dict(await _segments(ctx))
    tiles = [
        {
            "key": k["key"],
            "label": (K.BY_KEY[k["key"]] if k["key"] in K.BY_KEY else K.CHURN).label(ctx.locale),
            "value": shown(ctx, k["unit"], k["value"]),
            "previous": shown(ctx, k["unit"], k["previous"]),
            "change": k["change_pct"],
            "good": None if k["change_pct"] in (None, 0) else (k["change_pct"] > 0) == k["higher_is_better"],
        }
        for k in data["kpis"]
    ]
    return ctx.render(
        "reports/report.html",
        {
            "section": "reports",
            "report": name,
            "reports": service.REPORTS,
            "data": data,
            "tiles": tiles,
            "blocks": _blocks(ctx, name, data, query),
            "names": names,
            "channels": CHANNELS,
            "query": query,
            "error": error,
            "kpis": K,
        },
    )
