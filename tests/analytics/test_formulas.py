"""Each KPI on the hand-built history of fixture.py, whose answers are worked out by hand;
filters; a period with no data; business hours; churn."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from sodam.analytics import rollup, service
from sodam.analytics.queries import Filters
from tests.analytics import fixture

DAY = date(2026, 3, 10)


@pytest.fixture
async def history(db, make_workspace):
    ws = await make_workspace()
    ids = fixture.build(db, ws)
    await rollup.refresh(db)
    return ws, ids


async def report(url: str, name: str, f: Filters) -> dict:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await service.build(conn, name, f)


def kpis(data: dict) -> dict:
    return {k["key"]: k["value"] for k in data["kpis"]}


async def test_every_formula_on_the_fixture(db, history):
    ws, ids = history
    data = await report(db, "overview", Filters(ws.workspace_id, DAY, DAY, churn_days=30))
    got = kpis(data)
    assert got["conversations"] == 8
    # First response: C1 300, C2 600, C5 240 (from the handoff), C7 1500 (the agent stepped in);
    # C8's reply is on 03-11; C3 is unanswered; bot-only C4, C6 have no human clock.
    assert got["first_response_s"] == 660.0
    assert got["unanswered"] == 1
    # Resolution: C1 1800, C2 1200 (its first resolution), C5 1800.
    assert got["resolved"] == 3
    assert got["resolution_s"] == 1600.0
    assert got["fcr_pct"] == 66.7  # C2 was reopened
    assert got["reopen_pct"] == 33.3
    assert got["csat_pct"] == 50.0
    assert got["nps"] == 0.0  # one promoter, one passive, one detractor
    assert got["ces"] == 4.0
    assert got["bot_containment_pct"] == 50.0  # C4, C6 of C4–C7 (an agent spoke in C7)
    assert got["bot_confirmed_pct"] == 25.0
    assert got["bot_assumed_pct"] == 50.0
    assert got["handoff_pct"] == 25.0
    assert got["negative_pct"] == 50.0  # C1 of the two scored conversations
    assert got["churn_pct"] == 50.0  # X lost, Y kept
    assert data["churn"] == {"days": 30, "customers_at_start": 2, "lost": 1, "churn_pct": 50.0}
    # The previous period (03-09) had nothing: values None/0, change None.
    previous = {k["key"]: k for k in data["kpis"]}
    assert previous["conversations"]["previous"] == 0 and previous["conversations"]["change_pct"] is None
    assert previous["first_response_s"]["previous"] is None


async def test_conversations_report_tables(db, history):
    ws, ids = history
    data = await report(db, "conversations", Filters(ws.workspace_id, DAY, DAY))
    heat = {row[0]: row[1:] for row in data["tables"]["heatmap"]["rows"]}
    assert heat["tue"][10:18] == [1, 1, 0, 1, 1, 1, 1, 2]  # C1–C8 by KST hour (none at 12, two at 17)
    assert sum(sum(r) for r in heat.values()) == 8
    daily = data["tables"]["daily"]
    assert daily["columns"][0] == "date" and daily["rows"] == [
        ["2026-03-10", 8, 3, 1, 660.0, 1600.0, 66.7, 33.3]
    ]


async def test_agents_report(db, history):
    ws, ids = history
    data = await report(db, "agents", Filters(ws.workspace_id, DAY, DAY))
    rows = {
        r[0]: dict(zip(data["tables"]["agents"]["columns"], r, strict=True))
        for r in data["tables"]["agents"]["rows"]
    }
    a1, a2 = rows[ids["A1"]], rows[ids["A2"]]
    assert (a1["handled"], a1["first_responses"], a1["first_response_s"], a1["csat_pct"]) == (
        2,
        3,
        800.0,
        50.0,
    )
    assert (a2["handled"], a2["first_responses"], a2["first_response_s"]) == (1, 1, 240.0)
    assert a1["open_load"] == 1  # C7 is still open


async def test_bot_and_surveys_reports(db, history):
    ws, ids = history
    bot = await report(db, "bot", Filters(ws.workspace_id, DAY, DAY))
    assert bot["counts"] == {
        "bot_conversations": 4,
        "bot_decided": 4,
        "bot_contained": 2,
        "bot_confirmed": 1,
        "bot_assumed": 2,
        "handoffs": 1,
    }
    assert bot["tables"]["handoff_reasons"]["rows"] == [["asked_for_human", 1]]
    assert bot["tables"]["handoff_topics"]["rows"] == [["refund", 1]]
    surveys = await report(db, "surveys", Filters(ws.workspace_id, DAY, DAY))
    assert surveys["tables"]["nps_split"]["rows"] == [
        ["promoters", 1, 33.3],
        ["passives", 1, 33.3],
        ["detractors", 1, 33.3],
    ]
    assert [r[3] for r in surveys["tables"]["comments"]["rows"]] == ["좋아요"]


async def test_filters(db, history):
    ws, ids = history

    async def got(**kw):
        return kpis(await report(db, "overview", Filters(ws.workspace_id, DAY, DAY, **kw)))

    assert (await got(inbox_id=ids["I2"]))["conversations"] == 1
    assert (await got(language="en"))["conversations"] == 1
    assert (await got(channel="email"))["conversations"] == 0
    # Two filters read the cube of every combination; one reads the one-dimension rollup.
    assert (await got(inbox_id=ids["I1"], language="en"))["conversations"] == 1
    assert (await got(inbox_id=ids["I1"], agent_id=ids["A1"]))["first_response_s"] == 800.0
    assert (await got(inbox_id=ids["I2"], agent_id=ids["A1"]))["conversations"] == 0
    a1 = await got(agent_id=ids["A1"])
    assert a1["first_response_s"] == 800.0  # C1, C2, C7
    assert a1["resolved"] == 2


async def test_business_hours(db, history):
    """C8: 17:50 → 09:10 next day is 55,200 s, of which 1,200 s within 09:00–18:00."""
    ws, ids = history
    day = date(2026, 3, 11)
    got = kpis(await report(db, "conversations", Filters(ws.workspace_id, day, day, inbox_id=ids["I2"])))
    assert got["first_response_s"] == 55200.0
    assert got["first_response_business_s"] == 1200.0


async def test_a_period_with_no_data(db, history):
    ws, _ = history
    for name in service.REPORTS:
        data = await report(db, name, Filters(ws.workspace_id, date(2020, 1, 1), date(2020, 1, 31)))
        for k in data["kpis"]:
            assert k["value"] in (0, None), (name, k)
        assert data["tables"]
    data = await report(db, "conversations", Filters(ws.workspace_id, date(2020, 1, 1), date(2020, 1, 3)))
    assert [r[0] for r in data["tables"]["daily"]["rows"]] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    assert data["tables"]["daily"]["rows"][0][1:] == [0, 0, 0, None, None, None, None]
