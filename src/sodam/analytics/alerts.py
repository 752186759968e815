"""Alerts: every hour, each workspace's last complete hour is compared with thresholds and with
the same hour a week before (read from the workspace rollup, a row per hour); a KPI out of
range leaves a console notice for every 매니저 and admin (accounts' agent notices), once per
KPI and hour.

Rules (RULES): average first response up 50 % or more on the same hour last week (each hour
with at least 5 first responses); negative-sentiment share at least 30 % and up 50 % on last
week (at least 10 scored conversations); CSAT under 70 % (at least 5 answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.analytics import kpis as K

NOTICE_KIND = "report_alert"


@dataclass(frozen=True)
class Rule:
    kpi: str
    min_count: str  # the counter that must reach `at_least` in the hour (and last week's, for a rise)
    at_least: int
    rise_pct: float | None = None  # vs the same hour last week
    above: float | None = None
    below: float | None = None


RULES = (
    Rule("first_response_s", "frt_count", 5, rise_pct=50.0),
    Rule("negative_pct", "scored", 10, rise_pct=50.0, above=30.0),
    Rule("csat_pct", "csat_n", 5, below=70.0),
)
_HOUR = text(
    "SELECT workspace_id, hour, " + ", ".join(K.COUNTERS) + " FROM report_hourly_dim"
    " WHERE dim = '' AND hour = ANY(:hours) AND (CAST(:ws AS bigint) IS NULL OR workspace_id = :ws)"
)


def _fires(rule: Rule, now: dict, before: dict | None) -> tuple[bool, float | None, float | None]:
    if now.get(rule.min_count, 0) < rule.at_least:
        return False, None, None
    value = K.BY_KEY[rule.kpi].compute(now)
    previous = K.BY_KEY[rule.kpi].compute(before) if before else None
    if value is None:
        return False, value, previous
    if rule.below is not None and value >= rule.below:
        return False, value, previous
    if rule.above is not None and value < rule.above:
        return False, value, previous
    if rule.rise_pct is not None:
        if not before or before.get(rule.min_count, 0) < rule.at_least or not previous:
            return False, value, previous
        if 100.0 * (value - previous) / previous < rule.rise_pct:
            return False, value, previous
    return True, value, previous


async def check(session: AsyncSession, *, now: datetime, workspace_id: int | None = None) -> int:
    """Check the last complete hour before `now`; returns how many notices were left."""
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    week = hour - timedelta(days=7)
    rows = (await session.execute(_HOUR, {"hours": [hour, week], "ws": workspace_id})).mappings().all()
    by_ws: dict[int, dict[datetime, dict]] = {}
    for row in rows:
        by_ws.setdefault(row["workspace_id"], {})[row["hour"]] = dict(row)
    left = 0
    for ws, hours in by_ws.items():
        current = hours.get(hour)
        if current is None:
            continue
        for rule in RULES:
            fires, value, previous = _fires(rule, current, hours.get(week))
            if not fires:
                continue
            key = f"{rule.kpi}:{hour.isoformat()}"
            already = await session.scalar(
                text(
                    "SELECT 1 FROM agent_notices WHERE workspace_id = :ws AND kind = :kind"
                    " AND details->>'key' = :key LIMIT 1"
                ),
                {"ws": ws, "kind": NOTICE_KIND, "key": key},
            )
            if already:
                continue
            managers = (
                await session.execute(
                    text(
                        "SELECT id FROM agents WHERE workspace_id = :ws AND is_active"
                        " AND role IN ('supervisor', 'admin') ORDER BY id"
                    ),
                    {"ws": ws},
                )
            ).scalars()
            details = {
                "key": key,
                "kpi": rule.kpi,
                "hour": hour.isoformat(),
                "value": value,
                "previous": previous,
            }
            for agent_id in managers:
                await accounts.add_notice(
                    session, workspace_id=ws, agent_id=agent_id, kind=NOTICE_KIND, details=details
                )
                left += 1
    return left
