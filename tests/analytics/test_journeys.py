"""Retention by cohort, the journey map (one hand-built customer, and the aggregate path), and
agents' time online / away / busy — each on a hand-built history with known answers, including
a killed process, a period with no data, filters, the CSV equal to the table, isolation; and the
two-filter overview read from the dimension-pair rollup equals the cube's."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import psycopg
import pytest

from sodam.analytics import availability, journeys, rollup, service
from sodam.analytics import queries as Q
from sodam.analytics.queries import Filters
from sodam.core.errors import AppError
from sodam.db.session import session_scope
from sodam.routing import presence
from sodam.segments import service as segments
from sodam.segments.filters import parse
from tests.analytics.fixture import Builder, at
from tests.test_api_helpers import assert_error, client
from tests.test_console_helpers import console_client

START, END = date(2026, 1, 1), date(2026, 3, 31)


def build(url: str, ws) -> dict[str, int]:
    """Cohorts 2025-04 … 2026-03 (N = 30 days: "churned" = nothing since 03-02 KST).
    A: 01-05, 02-10, 03-20 (I1)            → cohort 2026-01, months 0, 1, 2; loyal
    B: 01-15                               → cohort 2026-01, month 0; churned
    C: 02-03, 02-20 (I1), 03-02 (I2)       → cohort 2026-02, months 0, 1 (I2 only in month 1)
    D: 2025-12-20, 2026-02-01              → cohort 2025-12, months 0 and 2; churned
    E: 2025-01-10, 2026-01-20              → first before 2025-04: in no cohort shown
    J: 01-05 (I1, CSAT 5), 03-20 (email inbox M, NPS 3) → the hand-built journey."""
    with psycopg.connect(url) as conn:
        b = Builder(conn, ws)
        i1, i2, m = b.inbox("I1"), b.inbox("I2"), b.inbox("M")
        conn.execute("UPDATE inboxes SET channel_type = 'email' WHERE id = %s", (m,))
        for key in "ABCDEJ":
            b.contact(key)
        for key, contact, inbox, day in (
            ("A1", "A", i1, "2026-01-05"),
            ("A2", "A", i1, "2026-02-10"),
            ("A3", "A", i1, "2026-03-20"),
            ("B1", "B", i1, "2026-01-15"),
            ("C1", "C", i1, "2026-02-03"),
            ("C2", "C", i1, "2026-02-20"),
            ("C3", "C", i2, "2026-03-02"),
            ("D1", "D", i1, "2025-12-20"),
            ("D2", "D", i1, "2026-02-01"),
            ("E1", "E", i1, "2025-01-10"),
            ("E2", "E", i1, "2026-01-20"),
            ("J1", "J", i1, "2026-01-05"),
            ("J2", "J", m, "2026-03-20"),
        ):
            b.conversation(key, inbox=inbox, contact=b.ids[contact], created=at("10:30", day))
        csat, nps = b.survey("csat"), b.survey("nps")
        b.answer(csat, "csat", 5, at("11:00", "2026-01-05"), contact=b.ids["J"], conv=b.ids["J1"])
        b.answer(nps, "nps", 3, at("11:00", "2026-03-20"), contact=b.ids["J"], conv=b.ids["J2"])
        conn.commit()
        return dict(b.ids)


@pytest.fixture
async def history(db, make_workspace):
    ws = await make_workspace()
    ids = build(db, ws)
    await rollup.refresh(db)
    return ws, ids


async def _conn(url: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


def _by_cohort(table: dict) -> dict[str, list]:
    return {row[0]: row[1:] for row in table["rows"]}


async def test_cohorts_known_answers_filters_and_fallback(db, history):
    ws, ids = history
    f = Filters(ws.workspace_id, START, END, churn_days=30)
    async with await _conn(db) as conn:
        tables = await journeys.retention(conn, f)
        cohorts = _by_cohort(tables["cohorts"])
        assert list(cohorts) == [f"2025-{m:02d}" for m in range(4, 13)] + ["2026-01", "2026-02", "2026-03"]
        assert tables["cohorts"]["columns"] == [
            "cohort",
            "customers",
            *[f"m{k}" for k in range(12)],
            "churned_pct",
        ]
        # size, m0 … m11, churned
        assert cohorts["2026-01"] == [
            3,
            100.0,
            33.3,
            66.7,
            *[None] * 9,
            33.3,
        ]  # A, B, J; A in Feb, A+J in Mar
        assert cohorts["2026-02"] == [1, 100.0, 100.0, *[None] * 10, 0.0]  # C
        assert cohorts["2025-12"] == [1, 100.0, 0.0, 100.0, 0.0, *[None] * 8, 100.0]  # D
        assert cohorts["2025-11"] == cohorts["2026-03"] == [0, *[None] * 13]  # empty: no shares
        counts = _by_cohort(tables["cohort_customers"])
        assert counts["2026-01"][:5] == [3, 3, 1, 2, None]
        curve = {r[0]: r[1:] for r in tables["retention_curve"]["rows"]}
        assert curve["m0"] == [5, 100.0] and curve["m1"] == [5, 40.0]  # (1 + 0 + 1) of 5 … A, C; D not
        # One dimension: in I1, C's March conversation (I2) does not count, and C churned there;
        # J's March conversation was in the email inbox.
        i1 = await journeys.retention(conn, replace(f, inbox_id=ids["I1"]))
        assert _by_cohort(i1["cohorts"])["2026-02"] == [1, 100.0, 0.0, *[None] * 10, 100.0]
        # A pair (inbox + language) reads the pair rows; the facts (no pair rollup) agree.
        pair = await journeys.retention(conn, replace(f, inbox_id=ids["I1"], language="ko"))
        saved, Q.PAIRS = Q.PAIRS, frozenset()
        try:
            assert await journeys.retention(conn, replace(f, inbox_id=ids["I1"], language="ko")) == pair
        finally:
            Q.PAIRS = saved
        assert pair == i1
        # The segment-like restriction to a few customers.
        only_b = await journeys.retention(conn, replace(f, contact_ids=(ids["B"],)))
        assert _by_cohort(only_b["cohorts"])["2026-01"] == [1, 100.0, 0.0, 0.0, *[None] * 9, 100.0]
        # A period with no data.
        empty = await journeys.retention(conn, Filters(ws.workspace_id, date(2020, 1, 1), date(2020, 1, 31)))
        assert all(row[1] == 0 and row[-1] is None for row in empty["cohorts"]["rows"])


async def test_journey_of_one_customer_and_the_aggregate_path(db, history):
    ws, ids = history
    async with await _conn(db) as conn:
        one = await journeys.contact_journey(
            conn, workspace_id=ws.workspace_id, contact_id=ids["J"], tz="Asia/Seoul"
        )
        assert one["tables"]["touchpoints"]["rows"] == [
            ["2026-01-05", "conversation", "web_widget", 1, None, None],
            ["2026-01-05", "survey", "csat", 1, 5, ids["J1"]],
            ["2026-03-20", "conversation", "email", 1, None, None],
            ["2026-03-20", "survey", "nps", 1, 3, ids["J2"]],
        ]
        assert one["tables"]["channels"]["rows"] == [
            ["web_widget", 1, "2026-01-05", "2026-01-05"],
            ["email", 1, "2026-03-20", "2026-03-20"],
        ]
        assert one["tables"]["satisfaction"]["rows"] == [["2026-01-05", "csat", 5], ["2026-03-20", "nps", 3]]
        # Another workspace's contact is not there.
        assert (
            await journeys.contact_journey(
                conn, workspace_id=ws.workspace_id + 10**9, contact_id=ids["J"], tz="UTC"
            )
            is None
        )
        f = Filters(ws.workspace_id, START, END, churn_days=30)
        now = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)  # 04-01 00:00 KST: churned = nothing since 03-02
        path = await journeys.journey_path(conn, f, now=now)
        assert path["paths"]["rows"] == [
            ["web_widget", "1", "churned", 1, None, None],  # B
            ["web_widget", "2-3", "loyal", 2, None, None],  # A, C
            ["web_widget", "2-3", "active", 1, 100.0, -100.0],  # J: CSAT 5, NPS 3
        ]
        steps = {(r[0], r[1]): r[2:] for r in path["steps"]["rows"]}
        assert steps[("first_channel", "web_widget")] == [4, 100.0, -100.0]
        assert steps[("conversations", "1")] == [1, None, None] and steps[("conversations", "2-3")][0] == 3
        assert [steps[("outcome", o)][0] for o in ("loyal", "active", "churned")] == [2, 1, 1]
        # The channel filter is the first channel; an e-mail first contact: nobody here.
        assert (await journeys.journey_path(conn, replace(f, channel="email"), now=now))["paths"][
            "rows"
        ] == []


def _kst(day: str, hhmm: str) -> datetime:
    return at(hhmm, day)


async def test_time_online_away_busy_with_a_killed_process(db, make_workspace):
    ws = await make_workspace()
    with psycopg.connect(db) as conn:
        b = Builder(conn, ws)
        g, h = b.agent("G"), b.agent("H")
        for agent in (g, h):
            conn.execute(
                "INSERT INTO agent_states (agent_id, workspace_id, availability, changed_at)"
                " VALUES (%s, %s, 'offline', %s)",
                (agent, ws.workspace_id, _kst("2026-03-01", "00:00")),
            )
        # G: online 09:00, away 12:00, online 13:00, busy 17:00, offline 18:00 (03-10 KST).
        for state, hhmm in (("online", "09:00"), ("away", "12:00"), ("online", "13:00"), ("busy", "17:00"), ("offline", "18:00")):  # fmt: skip
            conn.execute(
                "UPDATE agent_states SET availability = %s, changed_at = %s WHERE agent_id = %s",
                (state, _kst("2026-03-10", hhmm), g),
            )
        # H: online at 09:00 with consoles on two processes; P1 was killed (last beat 10:00).
        conn.execute(
            "UPDATE agent_states SET availability = 'online', changed_at = %s WHERE agent_id = %s",
            (_kst("2026-03-10", "09:00"), h),
        )
        conn.execute(
            "INSERT INTO agent_presence (agent_id, workspace_id, process_key, sockets, seen_at) VALUES"
            " (%s, %s, 'test-killed-1', 1, %s), (%s, %s, 'test-alive-2', 1, now())",
            (h, ws.workspace_id, _kst("2026-03-10", "10:00"), h, ws.workspace_id),
        )
        conn.commit()
    f = Filters(ws.workspace_id, date(2026, 3, 10), date(2026, 3, 10))
    async with session_scope() as session:  # the sweep: P1 is stale, P2 alive → H stays online
        await presence.sweep(session)
        await session.commit()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    async with await _conn(db) as conn:
        totals, daily = await availability.time_by_agent(conn, f, now=now)
        assert totals[g] == {"online": 7 * 3600, "busy": 3600, "away": 3600}
        assert totals[h] == {"online": 15 * 3600, "busy": 0, "away": 0}  # 09:00 → midnight, still online
    with psycopg.connect(db) as conn:  # now P2's process dies too, its last beat at 11:00
        conn.execute(
            "UPDATE agent_presence SET seen_at = %s WHERE process_key = 'test-alive-2' AND agent_id = %s",
            (_kst("2026-03-10", "11:00"), h),
        )
        conn.commit()
    async with session_scope() as session:
        await presence.sweep(session)
        await session.commit()
    async with await _conn(db) as conn:
        totals, daily = await availability.time_by_agent(conn, f, now=now)
        assert totals[h] == {"online": 2 * 3600, "busy": 0, "away": 0}  # offline as of the last heartbeat
        assert sorted(r[1:] for r in daily) == sorted([[g, 7 * 3600, 3600, 3600], [h, 2 * 3600, 0, 0]])
        # A period spanning two days splits at local midnight; a period with no data is empty.
        two = await availability.time_by_agent(conn, replace(f, start=date(2026, 3, 9)), now=now)
        assert two[0][g]["online"] == 7 * 3600 and {r[0] for r in two[1]} == {"2026-03-10"}
        assert await availability.time_by_agent(
            conn, Filters(ws.workspace_id, date(2026, 2, 1), date(2026, 2, 2)), now=now
        ) == ({}, [])
        report = await service.build(conn, "agents", f)
        cols = report["tables"]["agents"]["columns"]
        row = next(r for r in report["tables"]["agents"]["rows"] if r[0] == g)
        assert [row[cols.index(c)] for c in ("online_s", "busy_s", "away_s")] == [7 * 3600, 3600, 3600]


async def test_two_filters_read_the_pair_rollup_and_agree_with_the_cube(db, history):
    ws, ids = history
    f = Filters(ws.workspace_id, START, END, churn_days=30, inbox_id=ids["I1"], language="ko")
    assert f.source()[0] == "report_hourly_dim"
    async with await _conn(db) as conn:
        pair = await service.build(conn, "overview", f)
        saved, Q.PAIRS = Q.PAIRS, frozenset()
        try:
            assert f.source()[0] == "report_hourly"
            cube = await service.build(conn, "overview", f)
        finally:
            Q.PAIRS = saved
    assert pair == cube
    assert {k["key"]: k["value"] for k in pair["kpis"]}["conversations"] == 9  # in the period, I1 only
    incremental = await _pairs(db, ws.workspace_id)
    await rollup.rebuild(db, workspace_id=ws.workspace_id)
    assert await _pairs(db, ws.workspace_id) == incremental


async def _pairs(url: str, ws: int) -> list[tuple]:
    async with await _conn(url) as conn:
        cur = await conn.execute(
            "SELECT dim, value, hour, conversations FROM report_hourly_dim WHERE workspace_id = %s AND dim LIKE '%%+%%'"
            " UNION ALL SELECT dim, value, hour, conversations FROM report_contact_activity"
            " WHERE workspace_id = %s AND dim LIKE '%%+%%' ORDER BY 1, 2, 3, 4",
            (ws, ws),
        )
        return await cur.fetchall()


async def test_retention_and_journey_over_http(db, live_server, make_workspace, history):
    ws, ids = history
    other = await make_workspace()
    params = {"from": "2026-01-01", "to": "2026-03-31", "churn_days": "30"}
    async with client(live_server, ws.api_token) as api:
        data = (await api.get("/reports/retention", params=params)).json()
        assert _by_cohort(data["tables"]["cohorts"])["2026-02"][:3] == [1, 100.0, 100.0]
        r = await api.get("/reports/retention", params={**params, "format": "csv"})
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert rows[0] == data["tables"]["cohorts"]["columns"]
        assert rows[1:] == [
            ["" if v is None else str(v) for v in row] for row in data["tables"]["cohorts"]["rows"]
        ]
        r = await api.get("/reports/retention", params={**params, "inbox_id": ids["I1"]})
        assert _by_cohort(r.json()["tables"]["cohorts"])["2026-02"][2] == 0.0
        r = await api.get(f"/reports/journey/contacts/{ids['J']}")
        assert r.status_code == 200, r.text
        assert [t[1] for t in r.json()["tables"]["touchpoints"]["rows"]] == [
            "conversation",
            "survey",
            "conversation",
            "survey",
        ]
        r = await api.get(
            f"/reports/journey/contacts/{ids['J']}", params={"format": "csv", "table": "touchpoints"}
        )
        assert r.status_code == 200 and r.text.lstrip("\ufeff").startswith("date,type,detail,count,score")
    async with client(live_server, other.api_token) as api:  # isolation: another workspace's contact
        assert_error(await api.get(f"/reports/journey/contacts/{ids['J']}"), 404, "not_found")
        data = (await api.get("/reports/retention", params=params)).json()
        assert all(row[1] == 0 for row in data["tables"]["cohorts"]["rows"])


async def _score(url: str, ws: int, contact: int, risk: float, top: list[dict]) -> None:
    async with await _conn(url) as conn:
        await conn.execute(
            "INSERT INTO churn_scores (workspace_id, contact_id, risk, features) VALUES (%s, %s, %s, %s)",
            (ws, contact, risk, json.dumps({"top": top})),
        )


async def test_churn_risk_in_the_screen_pop_and_as_a_segment_condition(
    db, live_server, make_workspace, history
):
    ws, ids = history
    top = [{"feature": "days_since_last", "direction": "high"}, {"feature": "csat_last", "direction": "low"}]
    await _score(db, ws.workspace_id, ids["A"], 0.82, top)
    await _score(db, ws.workspace_id, ids["B"], 0.3, [])
    async with client(live_server, ws.api_token) as api:
        pop = (await api.get(f"/contacts/{ids['A']}/summary")).json()
        assert pop["churn_risk"]["score"] == 0.82
        assert pop["churn_risk"]["reasons"] == top
        assert (await api.get(f"/contacts/{ids['C']}/summary")).json()["churn_risk"] is None
    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        html = (await console.get(f"/console/contacts/{ids['A']}/screen-pop")).text
        assert 'id="pop-churn-risk"' in html and "82%" in html and "churn-risk-high" in html
        assert "오랫동안 대화가 없음" in html and "days_since_last" not in html  # a label, not the key
        page = (await console.get("/console/reports/retention?from=2026-01-01&to=2026-03-31")).text
        assert (
            'id="block-cohorts"' in page and 'class="shade"' in page and 'id="chart-retention_curve"' in page
        )
        page = (await console.get("/console/reports/journey?from=2026-01-01&to=2026-03-31")).text
        assert 'id="chart-paths"' in page and 'id="journey-pick"' in page
        r = await console.get(f"/console/reports/journey/contact?contact_id={ids['J']}")
        assert r.status_code == 303
        page = (await console.get(r.headers["location"])).text
        assert 'id="chart-satisfaction"' in page and 'id="block-touchpoints"' in page
        r = await console.get(f"/console/reports/journey/contacts/{ids['J']}/csv?table=channels")
        assert r.text.lstrip("\ufeff").splitlines()[1] == "web_widget,1,2026-01-05,2026-01-05"
    finally:
        await console.aclose()
    async with session_scope() as s:
        counts = {}
        for name, cond in (
            ("high", {"field": "churn_risk", "op": "gte", "value": 0.5}),
            ("low", {"field": "churn_risk", "op": "lte", "value": 0.5}),
            ("scored", {"field": "churn_risk", "op": "set"}),
            ("unscored", {"field": "churn_risk", "op": "not_set"}),
        ):
            seg = await segments.create(
                s, workspace_id=ws.workspace_id, name=f"위험 {name}", filter={"all": [cond]}
            )
            counts[name] = sorted(
                await segments.segment_contact_ids(s, workspace_id=ws.workspace_id, segment_id=seg.id)
            )
        await s.commit()
    assert counts["high"] == [ids["A"]] and counts["low"] == [ids["B"]]
    assert counts["scored"] == sorted([ids["A"], ids["B"]]) and len(counts["unscored"]) == 4
    with pytest.raises(AppError) as bad:
        parse({"all": [{"field": "churn_risk", "op": "gte", "value": 1.5}]})
    assert bad.value.details["path"] == "filter.all[0].value"


async def test_the_cohort_rollup_equals_each_customers_activity_and_follows_changes(db, history):
    """The rollup's cohorts (first-of-the-month days, the window's last rows) equal the ones
    read from every customer's activity, for ends inside and at the end of a month, any N, a
    dimension and a pair; after a customer's earlier conversation moves their cohort (the
    incremental refresh) and after a full rebuild."""
    ws, ids = history
    ends = [date(2026, 3, 31), date(2026, 3, 10), date(2026, 2, 28), date(2026, 2, 15), date(2026, 1, 31)]
    slices = [{}, {"inbox_id": ids["I1"]}, {"inbox_id": ids["I2"]}, {"inbox_id": ids["I1"], "language": "ko"}]

    async def both_ways(conn) -> list:
        seen = []
        for end in ends:
            for n in (1, 30, 60, 400):
                for extra in slices:
                    f = replace(Filters(ws.workspace_id, date(2026, 1, 1), end, churn_days=n), **extra)
                    m0 = datetime.combine(journeys.cohort_months(f)[0], datetime.min.time(), f.zone)
                    rolled = await journeys._cohort_rows_rolled_up(conn, f, m0, Q.dim_slice(f.set_filters()))
                    per_customer = await journeys._cohort_rows_per_customer(conn, f, m0)
                    assert rolled == per_customer, (end, n, extra)
                    seen.append(rolled)
        return seen

    async with await _conn(db) as conn:
        before = await both_ways(conn)
        assert any(before)
        # An earlier conversation of C (written late) moves C from cohort 2026-02 to 2025-11.
        with psycopg.connect(db) as sync:
            b = Builder(sync, ws)
            b.ids.update(ids)
            b.conversation("C0", inbox=ids["I1"], contact=ids["C"], created=at("09:00", "2025-11-03"))
            sync.commit()
        await rollup.refresh(db)
        after = await both_ways(conn)
        assert after != before
        f = Filters(ws.workspace_id, START, END, churn_days=30)
        cohorts = _by_cohort((await journeys.retention(conn, f))["cohorts"])
        assert cohorts["2026-02"][0] == 0 and cohorts["2025-11"][:5] == [1, 100.0, 0.0, 0.0, 100.0]
        cur = await conn.execute(
            "SELECT dim, value, cohort, day, customers FROM report_cohort_days WHERE workspace_id = %s ORDER BY 1, 2, 3, 4",
            (ws.workspace_id,),
        )
        incremental = await cur.fetchall()
        assert all(row[-1] > 0 for row in incremental)  # rows moved to zero are gone
    await rollup.rebuild(db, workspace_id=ws.workspace_id)
    async with await _conn(db) as conn:
        cur = await conn.execute(
            "SELECT dim, value, cohort, day, customers FROM report_cohort_days WHERE workspace_id = %s ORDER BY 1, 2, 3, 4",
            (ws.workspace_id,),
        )
        assert await cur.fetchall() == incremental
        assert await both_ways(conn) == after
