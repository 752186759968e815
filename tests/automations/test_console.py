"""The console's rule builder and settings over HTTP: the builder offers only this workspace's
segments, teams, agents and attribute keys; the settings form checks its values (ko/en errors
at the field, nothing saved); an agent (not a 매니저) may open neither."""

from __future__ import annotations

import html
import json
import re

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.automations import service
from sodam.contacts import attributes
from sodam.db.session import session_scope
from sodam.segments import service as segments
from tests.test_console_helpers import console_client, post

CATALOG_RE = re.compile(r"data-catalog='([^']*)'")


async def _seed(ws, label: str) -> None:
    async with session_scope() as s:
        await segments.create(s, workspace_id=ws.workspace_id, name=f"{label} 세그먼트", filter={"all": []})
        await accounts.create_team(s, workspace_id=ws.workspace_id, name=f"{label} 팀")
        await attributes.create(
            s, workspace_id=ws.workspace_id, key=f"{label.lower()}_plan", label=f"{label} 요금제", type="text"
        )


async def test_builder_offers_only_this_workspaces_things(live_server, make_workspace):
    a = await make_workspace(role=Role.supervisor)
    b = await make_workspace()
    await _seed(a, "A")
    await _seed(b, "B")
    client = await console_client(live_server, a.agent_email, a.agent_password)
    try:
        page = await client.get("/console/automations/new")
        assert page.status_code == 200
        catalog = json.loads(html.unescape(CATALOG_RE.search(page.text).group(1)))
        assert [s["name"] for s in catalog["segments"]] == ["A 세그먼트"]
        assert [t["name"] for t in catalog["teams"]] == ["A 팀"]
        assert [x["key"] for x in catalog["contact_attributes"]] == ["a_plan"]
        assert all(i["id"] != b.inbox_id for i in catalog["inboxes"])
        assert "B 세그먼트" not in page.text and "B 팀" not in page.text
        # Every condition field and step of the rule language is offered, labelled.
        assert set(catalog["labels"]["fields"]) == set(catalog["conditions"])
        assert set(catalog["labels"]["steps"]) == set(catalog["steps"])
    finally:
        await client.aclose()


async def test_settings_form_checks_and_saves(live_server, make_workspace):
    ws = await make_workspace(role=Role.supervisor)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get("/console/automations/settings")
        assert page.status_code == 200 and 'id="settings-cap"' in page.text
        bad = {"daily_cap": "101", "quiet_start": "24", "quiet_end": "7", "timezone": "Mars/Olympus"}
        r = await post(client, "/console/automations/settings", bad)
        assert r.status_code == 422
        assert 'id="settings-cap-error"' in r.text and 'id="settings-quiet-start-error"' in r.text
        assert 'id="settings-timezone-error"' in r.text and 'id="settings-quiet-end-error"' not in r.text
        async with session_scope() as s:
            stored = await service.get_settings(s, workspace_id=ws.workspace_id)
            assert (stored.daily_cap, stored.quiet_start, stored.quiet_end, stored.timezone) == (
                3,
                20,
                8,
                "Asia/Seoul",
            )
        good = {"daily_cap": "0", "quiet_start": "22", "quiet_end": "22", "timezone": "UTC"}
        r = await post(client, "/console/automations/settings", good)
        assert r.status_code == 303 and r.headers["location"] == "/console/automations/settings?saved=1"
        async with session_scope() as s:
            stored = await service.get_settings(s, workspace_id=ws.workspace_id)
            assert (stored.daily_cap, stored.quiet_start, stored.quiet_end, stored.timezone) == (
                0,
                22,
                22,
                "UTC",
            )
    finally:
        await client.aclose()


async def test_agents_cannot_open_the_builder_or_the_settings(live_server, make_workspace):
    ws = await make_workspace(role=Role.agent)
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        for path in ("/console/automations/new", "/console/automations/settings"):
            assert (await client.get(path)).status_code == 403
        r = await post(client, "/console/automations/settings", {"daily_cap": "9"})
        assert r.status_code == 403
    finally:
        await client.aclose()


def test_the_korean_console_says_the_rules_reasons_in_korean():
    from sodam.automations.builder import reason_in

    assert reason_in("ko", "is required (Korean and English)") == "한국어와 영어 문구를 모두 적어 주세요"
    assert reason_in("ko", "must be a whole number from 1 to 365") == "1부터 365까지의 정수로 적어 주세요"
    assert reason_in("ko", "must be text of 1 to 4000 characters") == "1자 이상 4000자 이하로 적어 주세요"
    assert reason_in("ko", "unknown trigger: one of a, b") == "다음 중 하나여야 합니다: a, b"
    assert reason_in("en", "is required") == "is required"  # English as the API says it
