"""The automations API: CRUD, enable/disable, templates, dry run, runs; custom events through
`POST /api/v1/events` (idempotent) giving a customer an order notice; bad input → 4xx; another
workspace's ids → 404."""

from __future__ import annotations

import asyncio
import time

from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from tests.automations.helpers import bot_messages
from tests.test_api_helpers import assert_error, client, walk

NOTICE = {
    "name": "배송 알림",
    "trigger_type": "event.custom",
    "trigger_config": {"name": "order.shipped"},
    "steps": [
        {
            "type": "message",
            "text": {
                "ko": "{{contact.first_name}}님, 주문하신 상품({{event.order_id}})이 발송되었습니다. 운송장 번호는 {{event.tracking}}입니다.",
                "en": "{{contact.first_name}}, your order {{event.order_id}} has shipped (tracking {{event.tracking}}).",
            },
        }
    ],
    "enabled": True,
}


async def _wait_for(predicate, within: float = 30.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def test_custom_event_sends_the_order_notice_once(live_server, make_workspace):
    ws = await make_workspace()
    async with session_scope() as s:
        kim = await contacts.create(
            s, workspace_id=ws.workspace_id, name="김소담", email="kim@example.com", language="ko"
        )
    async with client(live_server, ws.api_token) as api:
        r = await api.post("/automations", json=NOTICE)
        assert r.status_code == 201, r.text
        rule = r.json()
        body = {
            "contact": {"email": "KIM@example.com"},
            "name": "order.shipped",
            "properties": {"order_id": "A-1001", "tracking": "6789"},
        }
        first = await api.post("/events", json=body, headers={"Idempotency-Key": "ship-A-1001"})
        assert first.status_code == 202, first.text
        again = await api.post("/events", json=body, headers={"Idempotency-Key": "ship-A-1001"})
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        assert_error(
            await api.post(
                "/events",
                json={**body, "properties": {"order_id": "B"}},
                headers={"Idempotency-Key": "ship-A-1001"},
            ),
            409,
            "idempotency_key_reused",
        )
        # Another event name reaches no rule.
        assert (await api.post("/events", json={**body, "name": "order.paid"})).status_code == 202
        messages = await _wait_for(lambda: bot_messages(ws.workspace_id, kim.id))
        assert messages == ["소담님, 주문하신 상품(A-1001)이 발송되었습니다. 운송장 번호는 6789입니다."]
        runs = await _wait_for(lambda: _done_runs(api, rule["id"]))
        assert len(runs) == 1 and [s["outcome"] for s in runs[0]["steps"]] == ["done"]
        # The contact's timeline shows what the rule did.
        timeline = (await api.get(f"/contacts/{kim.id}/timeline")).json()["data"]
        entry = next(e for e in timeline if e["kind"] == "automation")
        assert entry["data"]["rule_name"] == "배송 알림" and entry["data"]["action"] == "message"
        await asyncio.sleep(1.0)
        assert len(await bot_messages(ws.workspace_id, kim.id)) == 1


async def _done_runs(api, rule_id: int):
    runs = (await api.get(f"/automations/{rule_id}/runs")).json()["data"]
    return runs if runs and all(r["status"] == "done" for r in runs) else None


async def test_crud_toggle_templates_and_dry_run(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        templates = (await api.get("/automations/templates")).json()["data"]
        assert [t["key"] for t in templates] == [
            "welcome",
            "inactive",
            "loyalty",
            "multi_ticket",
            "unused_feature",
        ]
        r = await api.post("/automations/templates/loyalty", json={})
        assert r.status_code == 201 and len(r.json()) == 2 and all(x["enabled"] for x in r.json())
        inactive = (await api.post("/automations/templates/inactive", json={"enabled": False})).json()[0]
        assert inactive["enabled"] is False
        assert (await api.post(f"/automations/{inactive['id']}/enable")).json()["enabled"] is True
        assert (await api.post(f"/automations/{inactive['id']}/disable")).json()["enabled"] is False
        changed = await api.patch(
            f"/automations/{inactive['id']}", json={"trigger_config": {"days": 60}, "marketing": False}
        )
        assert changed.status_code == 200 and changed.json()["trigger_config"] == {"days": 60}
        dry = (await api.post(f"/automations/{inactive['id']}/dry-run")).json()
        assert dry["count"] == 0 and dry["contact_ids"] == []
        assert_error(await api.post(f"/automations/{r.json()[0]['id']}/dry-run"), 422, "dry_run_unsupported")
        rules = await walk(api, "/automations", 2)
        assert len(rules) == 3
        settings = await api.put("/automations/settings", json={"daily_cap": 5, "quiet_start": 21})
        assert settings.json() == {
            "daily_cap": 5,
            "quiet_start": 21,
            "quiet_end": 8,
            "timezone": "Asia/Seoul",
        }
        assert (await api.delete(f"/automations/{inactive['id']}")).status_code == 204
        assert_error(await api.get(f"/automations/{inactive['id']}"), 404, "not_found")
        assert_error(await api.post("/automations/templates/nope", json={}), 404, "not_found")


BAD = [
    ({"trigger_type": "moon.phase"}, "trigger_type"),
    ({"trigger_type": "contact.inactive", "trigger_config": {}}, "trigger_config.days"),
    ({"trigger_type": "contact.inactive", "trigger_config": {"days": "30"}}, "trigger_config.days"),
    ({"trigger_type": "event.custom", "trigger_config": {"name": "has space"}}, "trigger_config.name"),
    ({"conditions": [{"field": "mood", "op": "eq", "value": 1}]}, "conditions[0].field"),
    ({"conditions": [{"field": "contact.language", "op": "gt", "value": ["ko"]}]}, "conditions[0].op"),
    ({"conditions": [{"field": "contact.attribute", "op": "eq", "value": "x"}]}, "conditions[0].key"),
    ({"conditions": [{"field": "time.weekday", "op": "in", "value": [7]}]}, "conditions[0].value[0]"),
    ({"steps": []}, "steps"),
    ({"steps": [{"type": "wait", "days": 1}]}, "steps"),
    ({"steps": [{"type": "message", "text": {"ko": "안녕하세요"}}]}, "steps[0].text.en"),
    ({"steps": [{"type": "teleport"}]}, "steps[0].type"),
    ({"steps": [{"type": "priority", "priority": "extreme"}]}, "steps[0].priority"),
    ({"steps": [{"type": "wait", "hours": 0}, {"type": "tag", "tag": "x"}]}, "steps[0]"),
    ({"steps": [{"type": "tag", "tag": "x", "color": "red"}]}, "steps[0].color"),
]


async def test_bad_rules_and_events_are_4xx(live_server, make_workspace):
    ws = await make_workspace()
    base = {"name": "규칙", "trigger_type": "contact.created", "steps": [{"type": "tag", "tag": "new"}]}
    async with client(live_server, ws.api_token) as api:
        for change, path in BAD:
            body = assert_error(await api.post("/automations", json={**base, **change}), 422, "invalid_rule")
            assert body["details"]["path"] == path, (change, body)
        assert (await api.post("/automations", json={**base, "extra": 1})).status_code == 422
        assert (await api.post("/automations", json={"name": "x"})).status_code == 422
        assert (await api.put("/automations/settings", json={"daily_cap": -1})).status_code == 422
        assert_error(
            await api.put("/automations/settings", json={"timezone": "Mars/Base"}), 422, "invalid_timezone"
        )
        assert_error(await api.post("/events", json={"contact": {}, "name": "x"}), 422, "contact_required")
        assert_error(
            await api.post("/events", json={"contact": {"id": 99999999}, "name": "x"}), 404, "not_found"
        )
        assert_error(await api.post("/events", json={"contact": {"external_id": "nobody"}, "name": "x"}), 404)
        assert (
            await api.post("/events", json={"contact": {"id": 1}, "name": "bad name!"})
        ).status_code == 422
        big = {"contact": {"id": 1}, "name": "x", "properties": {"blob": "x" * 9000}}
        assert (await api.post("/events", json=big)).status_code in (404, 422)
        assert (await api.get("/automations/0")).status_code == 422


async def test_another_workspaces_ids_are_404(live_server, make_workspace):
    a, b = await make_workspace(), await make_workspace()
    async with session_scope() as s:
        b_contact = await contacts.create(
            s, workspace_id=b.workspace_id, name="비밀 고객", email="secret@example.com"
        )
    async with client(live_server, b.api_token) as api_b:
        b_rule = (await api_b.post("/automations", json=NOTICE)).json()
    async with client(live_server, a.api_token) as api:
        rid = b_rule["id"]
        for method, path, body in [
            ("GET", f"/automations/{rid}", None),
            ("PATCH", f"/automations/{rid}", {"name": "침입"}),
            ("DELETE", f"/automations/{rid}", None),
            ("POST", f"/automations/{rid}/enable", None),
            ("POST", f"/automations/{rid}/disable", None),
            ("POST", f"/automations/{rid}/dry-run", None),
            ("GET", f"/automations/{rid}/runs", None),
        ]:
            assert_error(await api.request(method, path, json=body), 404, "not_found")
        assert await walk(api, "/automations", 10) == []
        for ref in ({"id": b_contact.id}, {"email": "secret@example.com"}):
            assert_error(
                await api.post("/events", json={"contact": ref, "name": "order.shipped"}), 404, "not_found"
            )
        rule = (
            await api.post(
                "/automations", json={**NOTICE, "conditions": [{"field": "segment", "op": "in", "value": 1}]}
            )
        ).json()
        assert rule["conditions"][0]["value"] == 1  # a foreign/missing segment simply never matches
    async with client(live_server, b.api_token) as api_b:
        assert (await api_b.get(f"/automations/{rid}")).json()["name"] == "배송 알림"
