"""Alerts: the last complete hour against thresholds and the same hour last week; a notice for
every 매니저 and admin (not agents), once per KPI and hour; quiet when nothing is out of range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.analytics import alerts
from sodam.db.session import session_scope

NOW = datetime(2026, 3, 10, 5, 7, tzinfo=UTC)  # checks 04:00–05:00 UTC against a week before


def put(url: str, ws: int, hour: datetime, **counters) -> None:
    cols = ", ".join(counters)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO report_hourly_dim (workspace_id, dim, value, hour, {cols}) VALUES (%s, '', '', %s,"
            f" {', '.join(['%s'] * len(counters))})",
            (ws, hour, *counters.values()),
        )


async def notices(ws: int) -> list:
    async with session_scope() as s:
        out = []
        for agent_id in await ws_agents(s, ws):
            out += [
                (agent_id, n.details["kpi"])
                for n in await accounts.unread_notices(s, workspace_id=ws, agent_id=agent_id)
            ]
        return sorted(out)


async def ws_agents(s, ws: int) -> list[int]:
    from sqlalchemy import text

    return list(
        (await s.execute(text("SELECT id FROM agents WHERE workspace_id = :ws"), {"ws": ws})).scalars()
    )


async def test_waits_up_and_csat_low_tell_the_managers_once(db, make_workspace):
    ws = await make_workspace()
    async with session_scope() as s:
        sup = await accounts.create_agent(
            s,
            workspace_id=ws.workspace_id,
            email=f"sup-{ws.slug}@x.test",
            name="매니저",
            password="pw-123456789",
            role=Role.supervisor,
        )
        agent = await accounts.create_agent(
            s,
            workspace_id=ws.workspace_id,
            email=f"agt-{ws.slug}@x.test",
            name="상담원",
            password="pw-123456789",
            role=Role.agent,
        )
    hour = datetime(2026, 3, 10, 4, tzinfo=UTC)
    # First response 10 min on average now, 5 min a week ago (+100 %); CSAT 2 of 5 (40 %).
    put(
        db,
        ws.workspace_id,
        hour,
        frt_count=6,
        frt_sum_ms=6 * 600_000,
        csat_n=5,
        csat_pos=2,
        scored=4,
        negative=4,
    )
    put(
        db,
        ws.workspace_id,
        hour - timedelta(days=7),
        frt_count=6,
        frt_sum_ms=6 * 300_000,
        scored=4,
        negative=1,
    )
    async with session_scope() as s:
        left = await alerts.check(s, now=NOW, workspace_id=ws.workspace_id)
    assert left == 4  # two KPIs × (admin, 매니저); negative share has too few scored conversations
    got = await notices(ws.workspace_id)
    assert got == sorted(
        [
            (ws.agent_id, "csat_pct"),
            (ws.agent_id, "first_response_s"),
            (sup.id, "csat_pct"),
            (sup.id, "first_response_s"),
        ]
    )
    assert agent.id not in {a for a, _ in got}
    async with session_scope() as s:  # the job runs again: nothing twice
        assert await alerts.check(s, now=NOW + timedelta(minutes=30), workspace_id=ws.workspace_id) == 0
    async with session_scope() as s:  # as the periodic job runs it: every workspace at once
        await alerts.check(s, now=NOW + timedelta(minutes=40))
    assert await notices(ws.workspace_id) == got


async def test_quiet_when_in_range(db, make_workspace):
    ws = await make_workspace()
    hour = datetime(2026, 3, 10, 4, tzinfo=UTC)
    put(db, ws.workspace_id, hour, frt_count=6, frt_sum_ms=6 * 320_000, csat_n=5, csat_pos=5)
    put(db, ws.workspace_id, hour - timedelta(days=7), frt_count=6, frt_sum_ms=6 * 300_000)
    async with session_scope() as s:
        assert await alerts.check(s, now=NOW, workspace_id=ws.workspace_id) == 0
    # An empty hour is not an alert either.
    async with session_scope() as s:
        assert await alerts.check(s, now=NOW + timedelta(hours=5), workspace_id=ws.workspace_id) == 0


async def test_the_notice_shows_in_the_console(db, live_server, make_workspace):
    from tests.test_console_helpers import console_client

    ws = await make_workspace()
    put(db, ws.workspace_id, datetime(2026, 3, 10, 4, tzinfo=UTC), csat_n=5, csat_pos=1)
    async with session_scope() as s:
        assert await alerts.check(s, now=NOW, workspace_id=ws.workspace_id) == 1
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = (await client.get("/console")).text
        assert 'data-kind="report_alert"' in page and "보고서 알림" in page and "70% 아래로" in page
    finally:
        await client.aclose()
