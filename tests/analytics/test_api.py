"""/api/v1/reports/...: the figures over HTTP, filters, the CSV of every table equal to the JSON
table, bad input, the permission, and workspace isolation on every report."""

from __future__ import annotations

import csv
import io

from sodam.accounts.models import Role
from sodam.analytics import rollup, service
from tests.analytics import fixture
from tests.test_api_helpers import assert_error, client, new_token

PERIOD = {"from": "2026-03-10", "to": "2026-03-10", "churn_days": "30"}


def cell(value) -> str:
    return "" if value is None else str(value)


async def test_reports_over_http_and_csv_equals_json(db, live_server, make_workspace):
    ws = await make_workspace()
    ids = fixture.build(db, ws)
    await rollup.refresh(db)
    async with client(live_server, ws.api_token) as api:
        r = await api.get("/reports/overview", params=PERIOD)
        assert r.status_code == 200, r.text
        data = r.json()
        got = {k["key"]: k["value"] for k in data["kpis"]}
        assert (got["conversations"], got["first_response_s"], got["fcr_pct"], got["churn_pct"]) == (
            8,
            660.0,
            66.7,
            50.0,
        )
        assert data["previous_period"] == {"from": "2026-03-09", "to": "2026-03-09", "tz": "Asia/Seoul"}
        r = await api.get("/reports/overview", params={**PERIOD, "inbox_id": ids["I2"]})
        assert {k["key"]: k["value"] for k in r.json()["kpis"]}["conversations"] == 1
        # Another time zone moves the day: 03-10 in UTC starts at 09:00 KST, so C1–C8 all count.
        r = await api.get("/reports/conversations", params={**PERIOD, "tz": "UTC"})
        assert {k["key"]: k["value"] for k in r.json()["kpis"]}["conversations"] == 8
        for name in service.REPORTS:
            data = (await api.get(f"/reports/{name}", params=PERIOD)).json()
            for table_name, table in data["tables"].items():
                r = await api.get(f"/reports/{name}", params={**PERIOD, "format": "csv", "table": table_name})
                assert r.status_code == 200, r.text
                assert r.headers["content-type"].startswith("text/csv")
                assert "attachment" in r.headers["content-disposition"]
                rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
                assert rows[0] == table["columns"]
                assert rows[1:] == [[cell(v) for v in row] for row in table["rows"]], (name, table_name)
        # Without ?table= a report gives its main table.
        r = await api.get("/reports/agents", params={**PERIOD, "format": "csv"})
        assert r.text.lstrip("\ufeff").startswith("agent_id,agent,handled")


async def test_bad_input_and_permission(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        assert_error(await api.get("/reports/nothing"), 404, "not_found")
        assert_error(
            await api.get("/reports/overview", params={"from": "2026-03-10", "to": "2026-03-01"}),
            422,
            "invalid_period",
        )
        assert_error(await api.get("/reports/overview", params={"from": "10/03/2026"}), 422, "invalid_date")
        assert_error(
            await api.get("/reports/overview", params={"from": "2020-01-01", "to": "2026-01-01"}),
            422,
            "invalid_period",
        )
        assert_error(await api.get("/reports/overview", params={"tz": "Mars/Base"}), 422, "invalid_tz")
        assert_error(await api.get("/reports/overview", params={"channel": "fax"}), 422, "invalid_filter")
        assert_error(await api.get("/reports/overview", params={"inbox_id": "x"}), 422, "invalid_filter")
        assert_error(
            await api.get("/reports/overview", params={"format": "csv", "table": "nope"}),
            422,
            "invalid_table",
        )
        assert (await api.get("/reports/overview", params={"format": "xml"})).status_code == 422
        # The default period (the last 30 days) answers with zeros, not an error.
        r = await api.get("/reports/overview")
        assert r.status_code == 200 and len(r.json()["tables"]["daily"]["rows"]) == 30
    agent_token = await new_token(ws, ["read"], role=Role.agent)
    async with client(live_server, agent_token) as api:
        assert_error(await api.get("/reports/overview"), 403, "permission_required")
    supervisor_token = await new_token(ws, ["read"], role=Role.supervisor)
    async with client(live_server, supervisor_token) as api:
        assert (await api.get("/reports/overview")).status_code == 200


async def test_workspace_isolation_on_every_report(db, live_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    ids = fixture.build(db, a)
    await rollup.refresh(db)
    async with client(live_server, b.api_token) as api:
        for name in service.REPORTS:
            for params in (PERIOD, {**PERIOD, "inbox_id": ids["I1"]}, {**PERIOD, "agent_id": ids["A1"]}):
                r = await api.get(f"/reports/{name}", params=params)
                assert r.status_code == 200, r.text
                data = r.json()
                for k in data["kpis"]:
                    assert k["value"] in (0, None), (name, k)
                for table_name, table in data["tables"].items():
                    if table_name in ("heatmap", "daily"):
                        assert all(v in (0, None) for row in table["rows"] for v in row[1:]), (
                            name,
                            table_name,
                        )
                    elif table_name == "agents":  # only B's own agents, with nothing done
                        assert ids["A1"] not in [row[0] for row in table["rows"]]
                    elif table_name == "percentiles":  # one row per duration, nothing counted
                        assert [row[1:] for row in table["rows"]] == [[0, None, None]] * 2
                    elif table_name == "nps_split":
                        assert [row[1] for row in table["rows"]] == [0, 0, 0]
                    elif table_name in (
                        "cohorts",
                        "cohort_customers",
                        "retention_curve",
                    ):  # sizes only, all 0
                        assert all(row[1] == 0 for row in table["rows"]), (name, table_name)
                    elif table_name != "kpis":
                        assert table["rows"] == [], (name, table_name)
                csv_text = (await api.get(f"/reports/{name}", params={**params, "format": "csv"})).text
                assert "상담원 A1" not in csv_text and "좋아요" not in csv_text
