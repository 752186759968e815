"""Workspace isolation on every page-rule endpoint: B's rule is 404 for A on each API route and
to A's widget, A's widget config never carries it, and A's figures never count B's events."""

from __future__ import annotations

from tests.pagehelp.fixture import widget
from tests.test_api_helpers import assert_error, client

RULE = {"name": "B의 규칙", "pattern": "/b/*", "message": {"ko": "B의 안내"}}


async def test_every_page_rule_endpoint_is_scoped(live_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    async with client(live_server, b.api_token) as api_b:
        b_rule = (await api_b.post("/page-rules", json=RULE)).json()
        before = (await api_b.get(f"/page-rules/{b_rule['id']}")).json()
    async with widget(live_server, b) as wb:
        r = await wb.post(
            f"/page-rules/{b_rule['id']}/events", json={"visitor_key": "b-visitor-1", "kind": "shown"}
        )
        assert r.json()["show"] is True
    async with client(live_server, a.api_token) as api:
        spec = (await api.get(live_server.url + "/openapi.json")).json()
        routes = [
            (method.upper(), path)
            for path, ops in spec["paths"].items()
            if path.startswith("/api/v1/page-rules")
            for method in ops
        ]
        assert len(routes) == 7, routes
        probed = 0
        for method, path in routes:
            if "{rule_id}" not in path:
                continue
            url = path.removeprefix("/api/v1").replace("{rule_id}", str(b_rule["id"]))
            body = {"name": "침입"} if method == "PATCH" else None
            assert_error(await api.request(method, url, json=body), 404, "not_found")
            probed += 1
        assert probed == 4
        assert (await api.get("/page-rules")).json()["data"] == []
        assert (await api.get("/page-rules/stats")).json() == []
        # A's own rule with B's name: names are per workspace.
        mine = await api.post("/page-rules", json={**RULE, "inbox_id": a.inbox_id})
        assert mine.status_code == 201, mine.text
    async with widget(live_server, a) as wa:
        config = (await wa.get("/config")).json()
        assert [r["id"] for r in config["page_rules"]] == [mine.json()["id"]]
        r = await wa.post(
            f"/page-rules/{b_rule['id']}/events", json={"visitor_key": "a-visitor-1", "kind": "shown"}
        )
        assert_error(r, 404, "page_rule_not_found")
    # A rule of one inbox is not another inbox's, even in the same workspace.
    c = await make_workspace()
    async with client(live_server, c.api_token) as api_c:
        inbox2 = (await api_c.post("/inboxes", json={"name": "두 번째"})).json()
        only2 = (await api_c.post("/page-rules", json={**RULE, "inbox_id": inbox2["id"]})).json()
    async with widget(live_server, c) as wc:
        assert (await wc.get("/config")).json()["page_rules"] == []
        r = await wc.post(
            f"/page-rules/{only2['id']}/events", json={"visitor_key": "c-visitor-1", "kind": "shown"}
        )
        assert_error(r, 404, "page_rule_not_found")
    async with client(live_server, b.api_token) as api_b:
        assert (await api_b.get(f"/page-rules/{b_rule['id']}")).json() == before
        assert (await api_b.get(f"/page-rules/{b_rule['id']}/stats")).json()["reached"] == 1
