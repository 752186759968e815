"""Workspace isolation on every segments endpoint: B's segment is 404 for A on each route, a
filter never counts B's contacts, and a survey cannot be sent to B's segment."""

from __future__ import annotations

from tests.segments.fixture import build
from tests.test_api_helpers import assert_error, client

EVERYONE = {"all": []}


async def test_every_segment_endpoint_is_scoped(live_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    await build(a)
    await build(b)
    async with client(live_server, b.api_token) as api_b:
        b_seg = (await api_b.post("/segments", json={"name": "B의 세그먼트", "filter": EVERYONE})).json()
        before = (await api_b.get(f"/segments/{b_seg['id']}")).json()
    async with client(live_server, a.api_token) as api:
        spec = (await api.get(live_server.url + "/openapi.json")).json()
        routes = [
            (method.upper(), path)
            for path, ops in spec["paths"].items()
            if path.startswith("/api/v1/segments")
            for method in ops
        ]
        assert len(routes) == 8, routes
        probed = 0
        for method, path in routes:
            if "{segment_id}" not in path:
                continue
            url = path.removeprefix("/api/v1").replace("{segment_id}", str(b_seg["id"]))
            body = {"name": "침입", "filter": EVERYONE} if method == "PATCH" else None
            assert_error(await api.request(method, url, json=body), 404, "not_found")
            probed += 1
        assert probed == 5
        # Lists, counts and previews hold only A's rows.
        assert (await api.get("/segments")).json()["data"] == []
        assert (await api.post("/segments/preview", json={"filter": EVERYONE})).json()["count"] == 4
        own = (await api.post("/segments", json={"name": "B의 세그먼트", "filter": EVERYONE})).json()
        assert (await api.get(f"/segments/{own['id']}/count")).json()["count"] == 4
        survey = (await api.post("/surveys", json={"name": "CSAT", "kind": "csat"})).json()
        r = await api.post(f"/surveys/{survey['id']}/send", json={"segment_id": b_seg["id"]})
        assert_error(r, 404, "not_found")
    async with client(live_server, b.api_token) as api_b:
        assert (await api_b.get(f"/segments/{b_seg['id']}")).json() == before
        assert (await api_b.get(f"/segments/{b_seg['id']}/count")).json()["count"] == 4
