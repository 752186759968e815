"""The audit log: reads of personal data and changes by agents and tokens are recorded with
who, what, when and from where; the table refuses UPDATE/DELETE; only admins read it."""

from __future__ import annotations

import csv
import io
import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import select

from sodam.accounts.models import ApiToken, Role
from sodam.audit.models import AuditEntry
from sodam.db.session import libpq_url, session_scope
from tests.test_api_helpers import assert_error, client, new_token, seed_conversation
from tests.test_console_helpers import add_agent, console_client, post


@asynccontextmanager
async def logged_in(server, email: str, password: str):
    browser = await console_client(server, email, password)
    try:
        yield browser
    finally:
        await browser.aclose()


async def entries(workspace_id: int, **where) -> list[AuditEntry]:
    async with session_scope() as session:
        stmt = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        return list(await session.scalars(stmt.order_by(AuditEntry.id)))


async def token_id_of(workspace_id: int) -> int:
    async with session_scope() as session:
        return await session.scalar(select(ApiToken.id).where(ApiToken.workspace_id == workspace_id))


async def test_api_reads_and_changes_are_recorded_with_actor_and_origin(live_server, make_workspace):
    ws = await make_workspace()
    token_id = await token_id_of(ws.workspace_id)
    async with client(live_server, ws.api_token) as api:
        api.headers["User-Agent"] = "crm-sync/2.1"
        created = (
            await api.post(
                "/contacts", json={"name": "이서연", "email": "seoyeon@example.com", "phone": "010-1111-2222"}
            )
        ).json()
        r = await api.patch(
            f"/contacts/{created['id']}", json={"company": "소담상사", "custom_attributes": {"plan": "pro"}}
        )
        assert r.status_code == 200, r.text
        assert (await api.get(f"/contacts/{created['id']}")).status_code == 200
        assert (await api.get("/contacts", params={"q": "서연"})).status_code == 200
        await api.get(f"/contacts/{10**12}")  # 404: no read happened, nothing recorded

    rows = await entries(ws.workspace_id, target_type="contact")
    actions = [e.action for e in rows]
    # Setting a company by name links (or creates) the company record first: the change may
    # be recorded in two entries (the mirrored name, then the link and the attribute).
    collapsed = [a for i, a in enumerate(actions) if not (a == "contact.updated" and actions[i - 1] == a)]
    assert collapsed == ["contact.created", "contact.updated", "contact.read", "contact.listed"]
    changed = {f for e in rows if e.action == "contact.updated" for f in e.details["fields"]}
    assert {"company", "company_id", "custom_attributes.plan"} <= changed
    for e in rows:
        assert (e.actor_type, e.agent_id, e.token_id) == ("token", ws.agent_id, token_id)
        assert e.ip == "127.0.0.1"
        assert e.user_agent == "crm-sync/2.1"
        assert e.created_at > datetime.now(UTC) - timedelta(minutes=1)
    created_entry, read_entry, listed_entry = rows[0], rows[-2], rows[-1]
    assert created_entry.target_id == read_entry.target_id == created["id"]
    assert set(created_entry.details["fields"]) >= {"name", "email", "phone"}
    assert listed_entry.details == {"contact_ids": [created["id"]], "searched": True}
    # Field names only: no personal value ever reaches the log.
    dumped = json.dumps([e.details for e in rows], ensure_ascii=False)
    for value in ("이서연", "seoyeon", "010-1111", "소담상사", "pro"):
        assert value not in dumped


async def test_conversation_changes_and_message_reads_over_the_api(live_server, make_workspace):
    ws = await make_workspace()
    seeded = await seed_conversation(ws)
    async with client(live_server, ws.api_token) as api:
        r = await api.patch(
            f"/conversations/{seeded.conversation_id}",
            json={"status": "resolved", "assignee_id": ws.agent_id, "tags": ["vip"]},
        )
        assert r.status_code == 200, r.text
        assert (await api.get(f"/conversations/{seeded.conversation_id}/messages")).status_code == 200
    rows = await entries(ws.workspace_id, target_type="conversation", target_id=seeded.conversation_id)
    # One entry per change the request made (assignee, status, tags), then the read.
    assert [e.action for e in rows] == ["conversation.updated"] * 3 + ["conversation.read"]
    assert sorted(f for e in rows[:3] for f in e.details["fields"]) == ["assignee_id", "status", "tags"]
    values = {k: v for e in rows[:3] for k, v in e.details.get("values", {}).items()}
    assert values["status"] == {"from": "open", "to": "resolved"}
    assert values["assignee_id"] == {"from": None, "to": ws.agent_id}
    assert "tags" not in values  # names only for tags (they may say anything)
    assert rows[3].details == {"messages": 1}


async def test_console_reads_and_changes_are_recorded(live_server, make_workspace):
    ws = await make_workspace()
    conversation_id, contact_id = await seed_conversation_console(ws)
    agent_id, _email, _password = await add_agent(ws)
    async with logged_in(live_server, ws.agent_email, ws.agent_password) as browser:
        browser.headers["User-Agent"] = "Mozilla/5.0 (test)"
        assert (await browser.get(f"/console/contacts/{contact_id}")).status_code == 200
        assert (await browser.get(f"/console/conversations/{conversation_id}")).status_code == 200
        r = await post(browser, f"/console/conversations/{conversation_id}/status", {"status": "pending"})
        assert r.status_code == 200, r.text
        r = await post(
            browser, f"/console/contacts/{contact_id}", {"name": "새 이름", "email": "new@example.com"}
        )
        assert r.status_code == 200, r.text
        r = await post(browser, "/console/settings/tokens", {"name": "zapier"})
        assert r.status_code == 201, r.text
        r = await post(browser, f"/console/settings/agents/{agent_id}", {"role": "supervisor"})
        assert r.status_code == 200, r.text
        r = await post(browser, "/console/settings/teams", {"name": "배송팀"})
        assert r.status_code == 200, r.text
    rows = await entries(ws.workspace_id)
    assert all(e.actor_type == "agent" and e.agent_id == ws.agent_id for e in rows)
    assert all(e.ip == "127.0.0.1" and e.user_agent == "Mozilla/5.0 (test)" for e in rows)
    by_action: dict[str, list[AuditEntry]] = {}
    for e in rows:
        by_action.setdefault(e.action, []).append(e)
    reads = [(e.target_type, e.target_id) for e in by_action["contact.read"]]
    assert reads == [("contact", contact_id), ("contact", contact_id)]  # contact page, then the panel
    assert [e.target_id for e in by_action["conversation.read"]] == [conversation_id]
    assert by_action["conversation.updated"][0].details["values"]["status"] == {
        "from": "open",
        "to": "pending",
    }
    assert sorted(by_action["contact.updated"][0].details["fields"]) == ["email", "name"]
    assert by_action["token.created"][0].details["fields"] >= ["name"]
    role_change = by_action["agent.updated"][0]
    assert role_change.target_id == agent_id
    assert role_change.details["values"]["role"] == {"from": "agent", "to": "supervisor"}
    assert by_action["team.created"][0].target_type == "team"


async def seed_conversation_console(ws) -> tuple[int, int]:
    from tests.test_console_helpers import seed_conversation as seed

    return await seed(ws)


async def test_team_members_and_token_revocation_are_named(live_server, make_workspace):
    ws = await make_workspace()
    agent_id, _e, _p = await add_agent(ws)
    async with client(live_server, ws.api_token) as api:
        team = (await api.post("/teams", json={"name": "결제팀", "agent_ids": [ws.agent_id]})).json()
        r = await api.patch(f"/teams/{team['id']}", json={"agent_ids": [agent_id]})
        assert r.status_code == 200, r.text
    async with logged_in(live_server, ws.agent_email, ws.agent_password) as browser:
        token_id = await token_id_of(ws.workspace_id)
        r = await post(browser, f"/console/settings/tokens/{token_id}/revoke")
        assert r.status_code == 200, r.text
    team_rows = await entries(ws.workspace_id, target_type="team", target_id=team["id"])
    named = [(e.action, e.details.get("agent_id")) for e in team_rows]
    assert named[:2] == [("team.created", None), ("team.member_added", ws.agent_id)]
    # The replacement is one flush: who left and who joined, in either order.
    assert sorted(named[2:]) == sorted(
        [("team.member_removed", ws.agent_id), ("team.member_added", agent_id)]
    )
    revoked = await entries(ws.workspace_id, action="token.revoked")
    assert [(e.target_id, e.actor_type) for e in revoked] == [(token_id, "agent")]


async def test_audit_table_refuses_update_delete_and_truncate(db, make_workspace):
    ws = await make_workspace()
    async with session_scope() as session:
        session.add(
            AuditEntry(
                workspace_id=ws.workspace_id,
                actor_type="system",
                action="test.wrote",
                target_type="test",
                details={},
            )
        )
    statements = (
        "UPDATE audit_log SET action = 'x' WHERE workspace_id = %s",
        "DELETE FROM audit_log WHERE workspace_id = %s",
        "TRUNCATE audit_log",
    )
    for statement in statements:
        with psycopg.connect(libpq_url(db)) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement, (ws.workspace_id,) if "%s" in statement else None)
    assert [e.action for e in await entries(ws.workspace_id)] == ["test.wrote"]


async def test_audit_api_is_for_admins_pages_filters_and_exports(live_server, make_workspace):
    ws = await make_workspace()
    other = await make_workspace()
    seeded = await seed_conversation(ws)
    async with client(live_server, ws.api_token) as api:
        for _ in range(3):
            await api.get(f"/contacts/{seeded.contact_id}")
        await api.get(f"/conversations/{seeded.conversation_id}/messages")
    async with client(live_server, other.api_token) as api:
        await api.get("/contacts")  # another workspace's entry: never shown to ws

    for role in (Role.agent, Role.supervisor):
        async with client(live_server, await new_token(ws, ["read", "write"], role=role)) as api:
            assert_error(await api.get("/audit"), 403, "permission_required")
            assert_error(await api.get("/audit/export"), 403, "permission_required")
    async with client(live_server, None) as api:
        assert_error(await api.get("/audit"), 401)

    async with client(live_server, ws.api_token) as api:
        first = (await api.get("/audit", params={"limit": 2})).json()
        assert len(first["data"]) == 2 and first["next_cursor"]
        rest = (await api.get("/audit", params={"limit": 100, "cursor": first["next_cursor"]})).json()
        everything = first["data"] + rest["data"]
        ids = [e["id"] for e in everything]
        assert ids == sorted(ids, reverse=True)  # newest first, no overlap
        assert {e["action"] for e in everything} == {"contact.read", "conversation.read"}
        reads = (
            await api.get("/audit", params={"action": "contact.read", "target_id": seeded.contact_id})
        ).json()
        assert len(reads["data"]) == 3
        assert reads["data"][0]["ip"] == "127.0.0.1" and reads["data"][0]["actor_type"] == "token"
        prefix = (await api.get("/audit", params={"action": "conversation."})).json()
        assert [e["action"] for e in prefix["data"]] == ["conversation.read"]
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert (await api.get("/audit", params={"since": future})).json()["data"] == []
        assert len((await api.get("/audit", params={"until": future})).json()["data"]) == 4
        assert_error(await api.get("/audit", params={"since": "2026-01-01T00:00:00"}), 422)
        assert_error(await api.get("/audit", params={"cursor": "bad"}), 400, "invalid_cursor")

        exported = await api.get("/audit/export", params={"format": "csv", "action": "contact.read"})
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        assert "attachment" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 3 and {r["action"] for r in rows} == {"contact.read"}
        lines = (await api.get("/audit/export", params={"format": "jsonl"})).text.strip().splitlines()
        parsed = [json.loads(line) for line in lines]
        assert {p["action"] for p in parsed} >= {"contact.read", "conversation.read", "audit.exported"}
        assert all(p["ip"] == "127.0.0.1" for p in parsed)
    exports = await entries(ws.workspace_id, action="audit.exported")
    assert [e.details["format"] for e in exports] == ["csv", "jsonl"]
    assert exports[0].details["action"] == "contact.read"


async def test_console_audit_page_filters_and_is_for_admins(live_server, make_workspace):
    ws = await make_workspace()
    conversation_id, contact_id = await seed_conversation_console(ws)
    _id, agent_email, agent_password = await add_agent(ws)
    async with client(live_server, ws.api_token) as api:
        await api.get(f"/contacts/{contact_id}")
    async with logged_in(live_server, ws.agent_email, ws.agent_password) as browser:
        await browser.get(f"/console/conversations/{conversation_id}")
        page = await browser.get("/console/settings/audit")
        assert page.status_code == 200
        assert 'id="audit-table"' in page.text and "고객 정보 열람" in page.text
        assert "API 토큰 tests" in page.text  # the token's name as the actor
        filtered = await browser.get(
            "/console/settings/audit",
            params={"target_type": "conversation"},
            headers={"HX-Request": "true", "HX-Target": "audit-results"},
        )
        assert 'data-action="conversation.read"' in filtered.text
        assert 'data-action="contact.read"' not in filtered.text
        # The form as a browser sends it: empty fields mean "any", never a 422.
        blank = {
            "actor": "",
            "target_type": "",
            "target_id": "",
            "action": "",
            "date_from": "",
            "date_to": "",
        }
        assert (await browser.get("/console/settings/audit", params=blank)).status_code == 200
        # Dates on the page are the agent's (Korea's): after 15:00 UTC it is already tomorrow there.
        today = datetime.now(ZoneInfo("Asia/Seoul")).date().isoformat()
        dated = await browser.get(
            "/console/settings/audit", params={**blank, "date_from": "2000-01-01", "date_to": today}
        )
        assert 'data-action="conversation.read"' in dated.text
        old = await browser.get("/console/settings/audit", params={**blank, "date_to": "2000-01-01"})
        assert 'id="audit-empty"' in old.text
        assert (
            await browser.get("/console/settings/audit", params={"date_to": "9999-12-31"})
        ).status_code == 200
        by_actor = await browser.get("/console/settings/audit", params={"actor": "system"})
        assert 'id="audit-empty"' in by_actor.text
        export = await browser.get(
            "/console/settings/audit/export", params={"format": "jsonl", "target_type": "contact"}
        )
        assert export.status_code == 200
        assert {json.loads(line)["action"] for line in export.text.splitlines()} == {"contact.read"}
    async with logged_in(live_server, agent_email, agent_password) as agent:
        assert (await agent.get("/console/settings/audit")).status_code == 403
        assert (await agent.get("/console/settings/audit/export")).status_code == 403
