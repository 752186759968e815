"""The segments API: CRUD, strict filters (422 with the path of the bad part), live counts,
paged members, a preview that agrees with the saved count, a survey sent to a segment, and
the contact's segments in the screen pop."""

from __future__ import annotations

from sodam.segments.filters import FIELDS
from tests.segments.fixture import build
from tests.test_api_helpers import assert_error, client, walk

KO = {"all": [{"field": "language", "op": "in", "value": ["ko"]}]}
NEGATIVE = {"all": [{"field": "sentiment", "op": "is", "value": "negative"}]}


async def test_crud_count_members_and_preview(live_server, make_workspace):
    ws = await make_workspace()
    p = await build(ws)
    async with client(live_server, ws.api_token) as api:
        r = await api.post("/segments", json={"name": "한국어 고객", "filter": KO})
        assert r.status_code == 201, r.text
        seg = r.json()
        assert seg["filter"] == KO and seg["created_by"] == ws.agent_id
        assert_error(
            await api.post("/segments", json={"name": "한국어 고객", "filter": KO}), 409, "segment_name_taken"
        )
        count = (await api.get(f"/segments/{seg['id']}/count")).json()
        assert count == {"segment_id": seg["id"], "count": 2}
        members = await walk(api, f"/segments/{seg['id']}/contacts", 1)
        assert [c["id"] for c in members] == sorted([p.kim, p.park], reverse=True)
        preview = (await api.post("/segments/preview", json={"filter": KO, "limit": 1})).json()
        assert preview["count"] == count["count"] and [c["id"] for c in preview["contacts"]] == [
            max(p.kim, p.park)
        ]
        # Change the filter: the count follows.
        r = await api.patch(f"/segments/{seg['id']}", json={"filter": NEGATIVE, "description": "화난 고객"})
        assert r.status_code == 200 and r.json()["description"] == "화난 고객"
        assert (await api.get(f"/segments/{seg['id']}/count")).json()["count"] == 1
        assert [s["id"] for s in await walk(api, "/segments", 10)] == [seg["id"]]
        # The screen pop names the contact's segments.
        pop = (await api.get(f"/contacts/{p.kim}/summary")).json()
        assert pop["segments"] == [{"id": seg["id"], "name": "한국어 고객"}]
        assert (await api.get(f"/contacts/{p.lee}/summary")).json()["segments"] == []
        assert (await api.delete(f"/segments/{seg['id']}")).status_code == 204
        assert_error(await api.get(f"/segments/{seg['id']}"), 404, "not_found")
        assert_error(await api.get(f"/segments/{seg['id']}/count"), 404, "not_found")


BAD = [
    ({"all": [{"field": "mood", "op": "eq", "value": 1}]}, "filter.all[0].field"),
    ({"all": [{"field": "csat", "op": "contains", "value": 1}]}, "filter.all[0].op"),
    ({"all": [{"field": "csat", "op": "lte", "value": 9}]}, "filter.all[0].value"),
    ({"all": [{"field": "csat", "op": "lte", "value": "2"}]}, "filter.all[0].value"),
    ({"all": [{"field": "csat", "op": "set", "value": 2}]}, "filter.all[0].value"),
    ({"all": [{"field": "attribute", "op": "eq", "value": "x"}]}, "filter.all[0].key"),
    ({"all": [{"field": "attribute", "key": "a b", "op": "eq", "value": "x"}]}, "filter.all[0].key"),
    (
        {"all": [{"field": "attribute", "key": "d", "op": "before", "value": "yesterday"}]},
        "filter.all[0].value",
    ),
    ({"all": [{"field": "conversations", "op": "gte", "value": 2}]}, "filter.all[0].days"),
    ({"all": [{"field": "tier", "op": "eq", "value": "VIP", "days": 3}]}, "filter.all[0].days"),
    ({"all": [{"field": "channel", "op": "in", "value": ["fax"]}]}, "filter.all[0].value[0]"),
    ({"all": [{"field": "sentiment", "op": "is", "value": "angry"}]}, "filter.all[0].value"),
    ({"all": [{"field": "language", "op": "in", "value": "ko", "extra": 1}]}, "filter.all[0].extra"),
    ({"all": [{"any": [{"field": "nps", "op": "gte", "value": 11}]}]}, "filter.all[0].any[0].value"),
    ({"all": [KO, {"any": [KO, {"all": [], "any": []}]}]}, "filter.all[1].any[1]"),
    ({"some": []}, "filter"),
    ({"all": {"field": "tier"}}, "filter.all"),
    ({"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]}, "filter.all[0].all[0].all[0].all[0]"),
]


async def test_bad_filters_are_422_with_the_path(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        for filter, path in BAD:
            for r in (
                await api.post("/segments", json={"name": "잘못", "filter": filter}),
                await api.post("/segments/preview", json={"filter": filter}),
            ):
                error = assert_error(r, 422, "invalid_filter")
                assert error["details"]["path"] == path, (filter, error)
                assert error["details"]["reason"]
        assert (await api.get("/segments")).json()["data"] == []
        seg = (await api.post("/segments", json={"name": "좋음", "filter": KO})).json()
        error = assert_error(await api.patch(f"/segments/{seg['id']}", json={"filter": BAD[2][0]}), 422)
        assert error["details"]["path"] == "filter.all[0].value"
        assert (await api.get(f"/segments/{seg['id']}")).json()["filter"] == KO  # unchanged
    assert set(FIELDS) >= {"attribute", "company", "language", "tier", "last_seen", "sentiment", "csat"}


async def test_survey_sent_to_a_segment(live_server, make_workspace):
    ws = await make_workspace()
    p = await build(ws)
    async with client(live_server, ws.api_token) as api:
        seg = (await api.post("/segments", json={"name": "한국어", "filter": KO})).json()
        survey = (await api.post("/surveys", json={"name": "NPS 정기", "kind": "nps"})).json()
        r = await api.post(f"/surveys/{survey['id']}/send", json={"segment_id": seg["id"]})
        assert r.status_code == 201, r.text
        assert sorted(x["contact_id"] for x in r.json()["data"]) == sorted([p.kim, p.park])
        assert all(x["url"].startswith("/s/") for x in r.json()["data"])
        nobody = (
            await api.post(
                "/segments", json={"name": "없음", "filter": {"all": [{"field": "ces", "op": "set"}]}}
            )
        ).json()
        assert_error(
            await api.post(f"/surveys/{survey['id']}/send", json={"segment_id": nobody["id"]}),
            422,
            "segment_empty",
        )
        assert_error(
            await api.post(
                f"/surveys/{survey['id']}/send", json={"segment_id": seg["id"], "contact_ids": [p.kim]}
            ),
            422,
        )
        assert_error(await api.post(f"/surveys/{survey['id']}/send", json={}), 422)
        assert_error(
            await api.post(f"/surveys/{survey['id']}/send", json={"segment_id": 2**40}), 404, "not_found"
        )
        summary = (await api.get(f"/surveys/{survey['id']}/summary")).json()
        assert summary["sent"] == 2


async def test_agents_read_but_do_not_change_segments(live_server, make_workspace):
    from sodam.accounts.models import Role

    ws = await make_workspace(role=Role.agent)
    async with client(live_server, ws.api_token) as api:
        assert (await api.get("/segments")).status_code == 200
        assert (await api.post("/segments/preview", json={"filter": KO})).status_code == 200
        assert_error(
            await api.post("/segments", json={"name": "x", "filter": KO}), 403, "permission_required"
        )


async def test_console_builder_refuses_bad_input_and_keeps_what_was_typed(live_server, make_workspace):
    from tests.test_console_helpers import console_client, post

    ws = await make_workspace()
    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        r = await post(console, "/console/segments", {"name": "", "filter": '{"all": []}'})
        assert r.status_code == 422 and "이름을 입력해 주세요" in r.text
        bad = '{"all": [{"field": "csat", "op": "lte", "value": 9}]}'
        r = await post(console, "/console/segments", {"name": "낮은 점수", "filter": bad})
        assert r.status_code == 422 and "filter.all[0].value" in r.text and "낮은 점수" in r.text
        r = await post(console, "/console/segments", {"name": "모두", "filter": '{"all": []}'})
        assert r.status_code == 303
        r = await post(console, "/console/segments", {"name": "모두", "filter": "{not json"})
        assert r.status_code == 422
        r = await post(console, "/console/segments", {"name": "모두", "filter": '{"all": []}'})
        assert r.status_code == 409
        r = await post(console, "/console/segments", {"name": "둘", "filter": '{"any": []}'})
        second = int(r.headers["location"].rsplit("=", 1)[1])
        r = await post(console, f"/console/segments/{second}", {"name": "모두", "filter": '{"all": []}'})
        assert r.status_code == 409
        r = await post(console, f"/console/segments/{second}", {"name": "둘째", "filter": '{"all": []}'})
        assert r.status_code == 303
        r = await post(console, "/console/segments/preview", {"filter": '{"any": []}'})
        assert r.status_code == 200 and r.json() == {"count": 0}
        r = await post(console, "/console/segments/preview", {"filter": bad})
        assert r.status_code == 422 and r.json()["error"]["details"]["path"] == "filter.all[0].value"
        page = await console.get("/console/segments")
        assert page.status_code == 200 and "모두" in page.text
    finally:
        await console.aclose()
