"""SLA in the console and the API: the list shows the stored due times (amber near breach,
red when breached) and sorts by them (기한 임박순); the settings page edits policies and
refuses bad targets; /api/v1/sla-policies for 매니저 and admins; due times in the
conversation API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sodam.accounts.models import Role
from sodam.conversations.models import Priority
from sodam.db.session import session_scope
from sodam.sla import service as sla
from tests.sla.helpers import queued_conversation, with_policy
from tests.test_api_helpers import assert_error, client
from tests.test_console_helpers import add_agent, console_client, post


def rows(html: str) -> list[tuple[int, str | None]]:
    found = []
    for cid, body in re.findall(r'data-conversation-id="(\d+)"[^>]*>(.*?)</a>', html, flags=re.S):
        state = re.search(r'data-sla-state="(\w+)"', body)
        found.append((int(cid), state.group(1) if state else None))
    return found


async def test_list_colours_and_sorts_by_the_stored_due_times(live_server, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    now = datetime.now(UTC)
    # First-response targets: urgent 30 min, any 4 h.
    breached = await queued_conversation(
        ws, at=now - timedelta(minutes=40), priority=Priority.urgent, name="초과"
    )
    amber = await queued_conversation(ws, at=now - timedelta(hours=3, minutes=10), name="임박")  # 79 %
    green = await queued_conversation(
        ws, at=now - timedelta(minutes=5), priority=Priority.urgent, name="여유"
    )
    calm = await queued_conversation(ws, at=now - timedelta(minutes=1), name="새 문의")
    c = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        recent = (await c.get("/console/conversations?view=all")).text
        states = dict(rows(recent))
        assert states[amber] == "warn" and states[green] == "ok" and states[calm] == "ok"
        assert states[breached] in ("breached",)  # red (the breach job may also have raised it)
        by_due = (await c.get("/console/conversations?view=all&sort=due")).text
        order = [cid for cid, _ in rows(by_due)]
        # due: breached −10 min, green +25 min, amber +50 min, calm +3 h 59 min
        assert order == [breached, green, amber, calm]
        assert 'data-sort="due"' in by_due and "기한 임박순" in by_due
        assert "sort=due" in re.search(r'data-list-url="([^"]+)"', by_due).group(1)
        page = (await c.get("/console?view=all&sort=due")).text
        assert [cid for cid, _ in rows(page)] == order
    finally:
        await c.aclose()


async def test_settings_page_edits_policies_and_refuses_bad_targets(live_server, make_workspace):
    ws = await make_workspace()
    _, email, password = await add_agent(ws, role=Role.supervisor, locale="ko")
    c = await console_client(live_server, email, password)
    try:
        assert "아직 SLA 정책이 없습니다" in (await c.get("/console/settings/sla")).text
        form = {
            "name": "VIP 우선",
            "is_default": "1",
            "measure": "business",
            "rows": "3",
            "tier_0": "vip",
            "priority_0": "*",
            "first_response_0": "10",
            "next_response_0": "20",
            "resolution_0": "4",
            "tier_1": "*",
            "priority_1": "*",
            "first_response_1": "60",
            "next_response_1": "",
            "resolution_1": "24",
            "tier_2": "",
            "priority_2": "*",
        }
        r = await post(c, "/console/settings/sla", form)
        assert r.status_code == 303, r.text
        async with session_scope() as session:
            (policy,) = await sla.list_(session, workspace_id=ws.workspace_id)
        assert policy.is_default and policy.business_hours
        assert policy.targets == [
            {
                "tier": "vip",
                "priority": "*",
                "first_response_s": 600,
                "next_response_s": 1200,
                "resolution_s": 14400,
            },
            {
                "tier": "*",
                "priority": "*",
                "first_response_s": 3600,
                "next_response_s": None,
                "resolution_s": 86400,
            },
        ]
        listing = (await c.get("/console/settings/sla")).text
        assert "VIP 우선" in listing and "10분" in listing and "24시간" in listing

        bad = {**form, "first_response_0": "열 분", "resolution_1": "0", "tier_2": "gold"}
        r = await post(c, f"/console/settings/sla/{policy.id}", bad)
        assert r.status_code == 422
        assert "1번째 줄 첫 응답: &#39;열 분&#39;은(는) 1분 이상 90일 이하의 숫자여야 합니다." in r.text
        assert "2번째 줄 해결: &#39;0&#39;" in r.text and "3번째 줄에 목표 시간이 없습니다." in r.text
        assert 'value="열 분"' in r.text  # typed values stay
        r = await post(c, f"/console/settings/sla/{policy.id}", {**form, "tier_1": "VIP"})
        assert r.status_code == 422 and "같은 고객 등급과 우선순위의 줄이 두 개 있습니다." in r.text
        r = await post(c, f"/console/settings/sla/{policy.id}", {**form, "measure": "calendar"})
        assert r.status_code == 303
        async with session_scope() as session:
            assert not (
                await sla.get(session, workspace_id=ws.workspace_id, policy_id=policy.id)
            ).business_hours
        r = await post(c, f"/console/settings/sla/{policy.id}/delete")
        assert r.status_code == 303
        async with session_scope() as session:
            assert await sla.list_(session, workspace_id=ws.workspace_id) == []
    finally:
        await c.aclose()


async def test_policy_api_crud_for_supervisors_only(live_server, make_workspace):
    ws = await make_workspace()
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/sla-policies",
            json={
                "name": "기본",
                "is_default": True,
                "business_hours": False,
                "inbox_ids": [ws.inbox_id],
                "targets": [{"tier": "*", "priority": "urgent", "first_response_s": 600}],
            },
        )
        assert r.status_code == 201, r.text
        policy = r.json()
        assert policy["targets"][0]["first_response_s"] == 600 and policy["inbox_ids"] == [ws.inbox_id]
        assert_error(await api.post("/sla-policies", json={"name": "기본"}), 409, "sla_policy_name_taken")
        assert_error(
            await api.post("/sla-policies", json={"name": "x", "targets": [{"first_response_s": 5}]}), 422
        )
        assert_error(
            await api.post("/sla-policies", json={"name": "y", "inbox_ids": [999999]}), 404, "not_found"
        )
        r = await api.patch(f"/sla-policies/{policy['id']}", json={"name": "기본 정책"})
        assert r.status_code == 200 and r.json()["name"] == "기본 정책" and r.json()["is_default"]
        second = (await api.post("/sla-policies", json={"name": "새 기본", "is_default": True})).json()
        listed = (await api.get("/sla-policies")).json()["data"]
        assert [(p["name"], p["is_default"]) for p in listed] == [("새 기본", True), ("기본 정책", False)]
        assert (await api.delete(f"/sla-policies/{second['id']}")).status_code == 204
        assert_error(await api.get(f"/sla-policies/{second['id']}"), 404, "not_found")
    _, email, _ = await add_agent(ws, role=Role.agent)
    async with session_scope() as session:
        from sodam.accounts import service as accounts

        agent = await accounts.get_agent_by_email(session, email=email)
        _token, raw = await accounts.create_api_token(
            session, workspace_id=ws.workspace_id, agent_id=agent.id, name="agent"
        )
        await session.commit()
    async with client(live_server, raw) as api:
        assert_error(await api.get("/sla-policies"), 403, "permission_required")


async def test_conversation_api_carries_the_due_times(live_server, make_workspace):
    ws = await make_workspace()
    await with_policy(ws, business_hours=False)
    at = datetime.now(UTC) - timedelta(minutes=1)
    cid = await queued_conversation(ws, at=at)
    async with client(live_server, ws.api_token) as api:
        body = (await api.get(f"/conversations/{cid}")).json()
    assert datetime.fromisoformat(body["first_response_due_at"]) == at + timedelta(hours=4)
    assert datetime.fromisoformat(body["resolution_due_at"]) == at + timedelta(hours=40)
    assert body["next_response_due_at"] is None and body["sla_policy_id"] is not None
