"""Managing agents and teams through the REST API: who may, what it changes, what it refuses."""

from __future__ import annotations

import secrets

import httpx

from sodam.accounts.models import Role
from tests.test_api_helpers import assert_error, client, new_token
from tests.test_console_helpers import console_client, login


async def test_admin_adds_changes_and_deactivates_an_agent(live_server, make_workspace):
    ws = await make_workspace()
    email = f"Minji-{secrets.token_hex(3)}@{ws.slug}.test"
    async with client(live_server, ws.api_token) as api:
        r = await api.post(
            "/agents", json={"email": email, "name": "김민지", "password": "long-enough-pw", "role": "agent"}
        )
        assert r.status_code == 201, r.text
        agent = r.json()
        assert agent["email"] == email.lower() and agent["role"] == "agent" and agent["is_active"]
        assert "password" not in agent and "password_hash" not in agent
        assert_error(
            await api.post("/agents", json={"email": email, "name": "x", "password": "long-enough-pw"}),
            409,
            "agent_exists",
        )
        assert_error(
            await api.post("/agents", json={"email": "a@b.co", "name": "x", "password": "short"}), 422
        )
        assert_error(
            await api.post(
                "/agents", json={"email": "not-an-email", "name": "x", "password": "long-enough-pw"}
            ),
            422,
            "invalid_email",
        )

    # The new agent can sign in to the console with the password the admin set.
    browser = await console_client(live_server, email, "long-enough-pw")
    assert (await browser.get("/console")).status_code == 200

    async with client(live_server, ws.api_token) as api:
        r = await api.patch(f"/agents/{agent['id']}", json={"role": "supervisor", "name": "김민지 매니저"})
        assert (
            r.status_code == 200 and r.json()["role"] == "supervisor" and r.json()["name"] == "김민지 매니저"
        )
        r = await api.patch(f"/agents/{agent['id']}", json={"is_active": False})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert_error(await api.patch(f"/agents/{agent['id']}", json={"bogus": 1}), 422)

    # Deactivated: the console session it had is gone, and it cannot sign in again.
    assert (await browser.get("/console", follow_redirects=False)).status_code in (302, 303, 307)
    await browser.aclose()
    async with httpx.AsyncClient(base_url=live_server.url) as fresh:
        assert (await login(fresh, email, "long-enough-pw")).status_code != 303


async def test_last_admin_stays_and_only_admins_manage_agents(live_server, make_workspace):
    ws = await make_workspace()
    supervisor = await new_token(ws, ["read", "write"], role=Role.supervisor)
    read_only = await new_token(ws, ["read"])
    async with client(live_server, ws.api_token) as api:
        assert_error(await api.patch(f"/agents/{ws.agent_id}", json={"role": "agent"}), 409, "last_admin")
        assert_error(await api.patch(f"/agents/{ws.agent_id}", json={"is_active": False}), 409, "last_admin")
        assert (await api.get(f"/agents/{ws.agent_id}")).json()["role"] == "admin"
    async with client(live_server, supervisor) as api:
        assert_error(
            await api.post("/agents", json={"email": "x@y.zz", "name": "x", "password": "long-enough-pw"}),
            403,
            "permission_required",
        )
        assert_error(
            await api.patch(f"/agents/{ws.agent_id}", json={"name": "탈취"}), 403, "permission_required"
        )
    async with client(live_server, read_only) as api:
        assert (await api.patch(f"/agents/{ws.agent_id}", json={"name": "탈취"})).status_code == 403
    other = await make_workspace()
    async with client(live_server, other.api_token) as api:  # another workspace's agent: not found
        assert_error(await api.patch(f"/agents/{ws.agent_id}", json={"name": "탈취"}), 404)


async def test_teams_rename_replace_members_and_delete(live_server, make_workspace):
    ws = await make_workspace()
    agent_token = await new_token(ws, ["read", "write"], role=Role.agent)
    async with client(live_server, ws.api_token) as api:
        helper = (
            await api.post(
                "/agents",
                json={
                    "email": f"h-{secrets.token_hex(3)}@{ws.slug}.test",
                    "name": "도우미",
                    "password": "long-enough-pw",
                },
            )
        ).json()
        team = (await api.post("/teams", json={"name": "결제팀", "agent_ids": [ws.agent_id]})).json()
        await api.post("/teams", json={"name": "배송팀"})
        r = await api.patch(f"/teams/{team['id']}", json={"name": "결제·환불팀", "agent_ids": [helper["id"]]})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "결제·환불팀" and r.json()["member_ids"] == [helper["id"]]
        assert_error(await api.patch(f"/teams/{team['id']}", json={"name": "배송팀"}), 409, "team_exists")
        assert_error(await api.patch(f"/teams/{team['id']}", json={"agent_ids": [2_000_000_000]}), 404)
        assert (await api.get(f"/teams/{team['id']}")).json()["member_ids"] == [helper["id"]]  # unchanged

    async with client(live_server, agent_token) as api:
        assert_error(await api.delete(f"/teams/{team['id']}"), 403, "permission_required")
    async with client(live_server, ws.api_token) as api:
        assert (await api.delete(f"/teams/{team['id']}")).status_code == 204
        assert_error(await api.get(f"/teams/{team['id']}"), 404)
        assert [t["name"] for t in (await api.get("/teams")).json()["data"]] == ["배송팀"]
