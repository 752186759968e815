"""The per-customer activity rollup behind churn: hand-worked churn with a period longer than
the window (a customer active again inside the period and silent by its end), one dimension,
a segment, two dimensions (read from the conversations), a contact moved by a merge; the rollup
equals the rebuild and the scan of the conversations."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import psycopg
import pytest

from sodam.analytics import queries as Q
from sodam.analytics import rollup
from sodam.analytics.queries import Filters
from sodam.db.session import session_scope
from sodam.segments import service as segments
from tests.analytics.fixture import Builder, at

# Window N = 10 days; period 03-10 … 03-29 (20 days, longer than N): s = 03-10, e = 03-30 KST.
START, END = date(2026, 3, 10), date(2026, 3, 29)


def build(url: str, ws) -> dict[str, int]:
    """P: 03-05, 03-12 (active at s; silent from 03-20 → lost, though active inside the period).
    Q: 03-05 (inbox I1), 03-25 (inbox I2) → kept.  R: 03-01 → lost.  S: 02-20 → not active at s.
    T: 03-15 only → new, not counted.  P and Q have plan = pro."""
    with psycopg.connect(url) as conn:
        b = Builder(conn, ws)
        i1, i2 = b.inbox("I1"), b.inbox("I2")
        for key in "PQRST":
            b.contact(key)
        conn.execute(
            'UPDATE contacts SET custom_attributes = \'{"plan": "pro"}\' WHERE id = ANY(%s)',
            ([b.ids["P"], b.ids["Q"]],),
        )
        for key, contact, inbox, day in (
            ("P1", "P", i1, "2026-03-05"),
            ("P2", "P", i1, "2026-03-12"),
            ("Q1", "Q", i1, "2026-03-05"),
            ("Q2", "Q", i2, "2026-03-25"),
            ("R1", "R", i1, "2026-03-01"),
            ("S1", "S", i1, "2026-02-20"),
            ("T1", "T", i1, "2026-03-15"),
        ):
            b.conversation(key, inbox=inbox, contact=b.ids[contact], created=at("10:30", day))
        conn.commit()
        return dict(b.ids)


@pytest.fixture
async def history(db, make_workspace):
    ws = await make_workspace()
    ids = build(db, ws)
    await rollup.refresh(db)
    return ws, ids


async def both(url: str, f: Filters) -> tuple[dict, dict]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        scan = await Q.churn_scan(conn, f)
        assert await Q.churn_facts(conn, f) == scan  # the several-filters path agrees too
        return await Q.churn(conn, f), scan


async def activity(url: str, workspace_id: int) -> list[tuple]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT contact_id, dim, value, hour, next_hour, conversations FROM report_contact_activity"
            " WHERE workspace_id = %s ORDER BY 1, 2, 3, 4",
            (workspace_id,),
        )
        return await cur.fetchall()


async def test_churn_from_the_activity_rollup(db, history):
    ws, ids = history
    f = Filters(ws.workspace_id, START, END, churn_days=10)
    fast, scan = await both(db, f)
    assert fast == {"days": 10, "customers_at_start": 3, "lost": 2, "churn_pct": 66.7}  # P, Q, R; P, R lost
    assert scan == fast
    # One dimension: in inbox I1, Q is silent too (its 03-25 conversation is in I2).
    fast, scan = await both(db, replace(f, inbox_id=ids["I1"]))
    assert fast == {"days": 10, "customers_at_start": 3, "lost": 3, "churn_pct": 100.0}
    assert scan == fast
    fast, scan = await both(db, replace(f, inbox_id=ids["I2"]))
    assert fast["customers_at_start"] == 0 and fast["churn_pct"] is None and scan == fast
    # Two dimensions: read from the conversations.
    fast, scan = await both(db, replace(f, inbox_id=ids["I1"], channel="web_widget"))
    assert fast == scan == {"days": 10, "customers_at_start": 3, "lost": 3, "churn_pct": 100.0}
    # A short period (N longer than it): 03-10 … 03-10 with N = 10: P, Q, R active at s; at the
    # end (03-11) R's 03-01 is out of [03-01, 03-11)? 03-01 10:30 is inside: nobody lost.
    fast, scan = await both(db, Filters(ws.workspace_id, START, START, churn_days=10))
    assert fast == scan == {"days": 10, "customers_at_start": 3, "lost": 0, "churn_pct": 0.0}
    fast, scan = await both(db, Filters(ws.workspace_id, date(2026, 3, 11), date(2026, 3, 11), churn_days=10))
    assert fast == scan == {"days": 10, "customers_at_start": 3, "lost": 1, "churn_pct": 33.3}  # R


async def test_segment_filter_on_churn_and_rollup(db, history):
    ws, ids = history
    async with session_scope() as s:
        seg = await segments.create(
            s,
            workspace_id=ws.workspace_id,
            name="프로 요금제",
            filter={"all": [{"field": "attribute", "key": "plan", "op": "eq", "value": "pro"}]},
        )
        members = await segments.segment_contact_ids(s, workspace_id=ws.workspace_id, segment_id=seg.id)
    assert sorted(members) == sorted([ids["P"], ids["Q"]])
    f = Filters(ws.workspace_id, START, END, churn_days=10, segment_id=seg.id, contact_ids=tuple(members))
    fast, scan = await both(db, f)
    assert fast == scan == {"days": 10, "customers_at_start": 2, "lost": 1, "churn_pct": 50.0}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        # Conversations in the period: P2, Q2 of the segment (T1 is not in it).
        assert (await Q.totals(conn, f))["conversations"] == 2
        assert (await Q.totals(conn, replace(f, segment_id=None, contact_ids=None)))["conversations"] == 3
        assert (await Q.totals(conn, replace(f, inbox_id=ids["I2"])))["conversations"] == 1


async def test_a_moved_conversation_moves_the_activity(db, history):
    ws, ids = history
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        # A merge moves R's conversation to T without an event: the trigger queues it.
        await conn.execute("UPDATE conversations SET contact_id = %s WHERE id = %s", (ids["T"], ids["R1"]))
    await rollup.refresh(db)
    rows = await activity(db, ws.workspace_id)
    assert not [r for r in rows if r[0] == ids["R"]]
    t_rows = [r for r in rows if r[0] == ids["T"] and r[1] == ""]
    assert [r[3].date().isoformat() for r in t_rows] == ["2026-03-01", "2026-03-15"]
    assert t_rows[0][4] == t_rows[1][3] and t_rows[1][4] is None  # the next hour chains them
    f = Filters(ws.workspace_id, START, END, churn_days=10)
    fast, scan = await both(db, f)
    assert fast == scan == {"days": 10, "customers_at_start": 3, "lost": 2, "churn_pct": 66.7}  # P, T
    incremental = await activity(db, ws.workspace_id)
    await rollup.rebuild(db, workspace_id=ws.workspace_id)
    assert await activity(db, ws.workspace_id) == incremental
