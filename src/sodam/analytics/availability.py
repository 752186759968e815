"""Agents' time online / busy / away per period, from their availability history.

Every change of `agent_states.availability` is recorded by a trigger in
`agent_availability_log` (migration 0039), in the transaction that made it, whichever process
did: the console opening, the sweep setting an idle agent away, a dead process's agents going
offline as of its last heartbeat (routing.presence.sweep back-dates the change there). An
interval runs from one change to the next (or to now); the period clips it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from sodam.analytics.queries import Filters

STATES = ("online", "busy", "away")


async def intervals(
    conn: psycopg.AsyncConnection, f: Filters, *, now: datetime | None = None
) -> list[tuple[int, str, datetime, datetime]]:
    """(agent, availability, start, end) of each stretch overlapping the period, clipped to it
    and to now (the agent's last change before the period opens it)."""
    params: dict[str, Any] = {"ws": f.workspace_id, "since": f.since, "until": f.until, "now": now}
    agent = ""
    if f.agent_id is not None:
        agent = " AND l.agent_id = %(agent)s"
        params["agent"] = f.agent_id
    cur = await conn.execute(
        "SELECT agent_id, availability, greatest(at, %(since)s),"
        "  least(coalesce(next_at, coalesce(%(now)s, clock_timestamp())), %(until)s, coalesce(%(now)s, clock_timestamp()))"
        " FROM (SELECT l.agent_id, l.availability, l.at,"
        "         lead(l.at) OVER (PARTITION BY l.agent_id ORDER BY l.at, l.id) AS next_at"
        "    FROM agent_availability_log l"
        "   WHERE l.workspace_id = %(ws)s AND l.at < %(until)s"
        + agent
        + "     AND l.at >= coalesce((SELECT max(p.at) FROM agent_availability_log p"
        "          WHERE p.agent_id = l.agent_id AND p.workspace_id = l.workspace_id AND p.at <= %(since)s),"
        "          '-infinity')) x"
        " WHERE coalesce(next_at, 'infinity') > %(since)s",
        params,
    )
    return [(a, s, start, end) for a, s, start, end in await cur.fetchall() if end > start]


async def time_by_agent(
    conn: psycopg.AsyncConnection, f: Filters, *, now: datetime | None = None
) -> tuple[dict[int, dict[str, int]], list[list[Any]]]:
    """Seconds online / busy / away per agent over the period, and per local day and agent
    (rows: date, agent_id, online_s, busy_s, away_s)."""
    totals: dict[int, dict[str, int]] = {}
    daily: dict[tuple[date, int], dict[str, float]] = {}
    zone = f.zone
    for agent_id, state, start, end in await intervals(conn, f, now=now):
        if state not in STATES:
            continue
        cursor = start
        while cursor < end:  # split at local midnights
            day = cursor.astimezone(zone).date()
            midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
            stop = min(end, midnight)
            bucket = daily.setdefault((day, agent_id), dict.fromkeys(STATES, 0.0))
            bucket[state] += (stop - cursor).total_seconds()
            cursor = stop
    for (_, agent_id), sums in daily.items():  # the totals are the daily table's sums
        totals.setdefault(agent_id, dict.fromkeys(STATES, 0))
        for state in STATES:
            totals[agent_id][state] += int(round(sums[state]))
    rows = [
        [day.isoformat(), agent_id, *(int(round(sums[s])) for s in STATES)]
        for (day, agent_id), sums in sorted(daily.items())
    ]
    return totals, rows
