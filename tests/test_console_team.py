"""Console settings: an admin adds agents, changes their role, deactivates them and keeps
teams; refusals say why in the agent's language and change nothing."""

from __future__ import annotations

import secrets

import httpx
import pytest
from sqlalchemy import select

from sodam.accounts import service as accounts
from sodam.accounts.models import Agent, Role
from sodam.db.session import session_scope
from tests.test_console_helpers import add_agent, console_client, login, post


@pytest.fixture
async def admin(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    yield ws, client
    await client.aclose()


async def _agent(email: str) -> Agent | None:
    async with session_scope() as session:
        return await session.scalar(select(Agent).where(Agent.email == email))


async def test_admin_adds_an_agent_who_can_then_sign_in(admin, live_server):
    ws, client = admin
    email = f"newbie-{secrets.token_hex(3)}@{ws.slug}.test"
    r = await post(
        client,
        "/console/settings/agents",
        {"name": "신입 상담원", "email": email, "password": "temporary-pass", "role": "agent"},
    )
    assert r.status_code == 200 and 'id="team-notice"' in r.text and "신입 상담원" in r.text
    assert "신입 상담원 님을 비활성화할까요?" in r.text  # the confirmation names the person
    created = await _agent(email)
    assert created is not None and created.role == Role.agent and created.workspace_id == ws.workspace_id
    assert created.password_hash.startswith("$argon2")
    newbie = await console_client(live_server, email, "temporary-pass")
    await newbie.aclose()

    again = await post(
        client, "/console/settings/agents", {"name": "x", "email": email, "password": "temporary-pass"}
    )
    assert again.status_code == 409 and "이미 같은 이메일을 쓰는 상담원이 있습니다." in again.text
    short = await post(
        client, "/console/settings/agents", {"name": "x", "email": f"y-{email}", "password": "short"}
    )
    assert short.status_code == 422 and "비밀번호는 8자 이상이어야 합니다." in short.text
    assert await _agent(f"y-{email}") is None


async def test_role_change_deactivation_and_the_last_admin(admin, live_server):
    ws, client = admin
    agent_id, email, password = await add_agent(ws, role=Role.agent)
    their_console = await console_client(live_server, email, password)

    r = await post(client, f"/console/settings/agents/{agent_id}", {"role": "supervisor"})
    assert r.status_code == 200
    assert (await _agent(email)).role == Role.supervisor

    r = await post(client, f"/console/settings/agents/{agent_id}", {"active": "false"})
    assert r.status_code == 200 and (await _agent(email)).is_active is False
    assert (await their_console.get("/console")).status_code == 303  # signed out at once
    await their_console.aclose()
    async with httpx.AsyncClient(base_url=live_server.url) as fresh:
        assert (await login(fresh, email, password)).status_code != 303

    r = await post(client, f"/console/settings/agents/{ws.agent_id}", {"role": "agent"})
    assert r.status_code == 409 and 'id="team-error"' in r.text
    assert "활성 관리자가 한 명 이상" in r.text
    async with session_scope() as session:
        me = await accounts.get_agent(session, workspace_id=ws.workspace_id, agent_id=ws.agent_id)
        assert me.role == Role.admin and me.is_active

    # Another workspace's agent is out of reach.
    other = await make_other(live_server)
    r = await post(client, f"/console/settings/agents/{other}", {"active": "false"})
    assert r.status_code == 404
    async with session_scope() as session:
        assert (await session.get(Agent, other)).is_active


async def make_other(live_server) -> int:
    async with session_scope() as session:
        ws = await accounts.create_workspace(session, name="남의 회사", slug="other-" + secrets.token_hex(4))
        agent = await accounts.create_agent(
            session,
            workspace_id=ws.id,
            email=f"boss@{ws.slug}.test",
            name="남의 관리자",
            password="correct-horse-9",
            role=Role.admin,
        )
        return agent.id


async def test_teams_created_filled_and_deleted(admin):
    ws, client = admin
    agent_id, _email, _password = await add_agent(ws, role=Role.agent)
    r = await post(client, "/console/settings/teams", {"name": "결제팀"})
    assert r.status_code == 200 and "결제팀" in r.text
    async with session_scope() as session:
        (team,) = await accounts.list_teams(session, workspace_id=ws.workspace_id)
    r = await client.post(
        f"/console/settings/teams/{team.id}",
        data={"agent_ids": [str(agent_id), str(ws.agent_id)]},
        headers={"HX-Request": "true", "X-CSRF-Token": client.cookies.get("sodam_csrf")},
    )
    assert r.status_code == 200
    async with session_scope() as session:
        assert sorted(
            await accounts.team_member_ids(session, workspace_id=ws.workspace_id, team_id=team.id)
        ) == sorted([agent_id, ws.agent_id])
    dup = await post(client, "/console/settings/teams", {"name": "결제팀"})
    assert dup.status_code == 409 and "같은 이름의 팀이 이미 있습니다." in dup.text
    gone = await post(client, f"/console/settings/teams/{team.id}/delete")
    assert gone.status_code == 200 and "팀을 삭제했습니다." in gone.text
    async with session_scope() as session:
        assert await accounts.list_teams(session, workspace_id=ws.workspace_id) == []


async def test_agents_cannot_manage_the_team(live_server, make_workspace):
    ws = await make_workspace()
    _id, email, password = await add_agent(ws, role=Role.agent)
    client = await console_client(live_server, email, password)
    for path, data in (
        ("/console/settings/agents", {"name": "x", "email": "x@x.xx", "password": "long-enough"}),
        (f"/console/settings/agents/{ws.agent_id}", {"active": "false"}),
        ("/console/settings/teams", {"name": "몰래 만든 팀"}),
    ):
        assert (await post(client, path, data)).status_code == 403, path
    await client.aclose()
    assert await _agent("x@x.xx") is None


async def test_supervisors_manage_teams_but_not_agents(live_server, make_workspace):
    """The same rule as the API (teams.manage): a supervisor sees and keeps the teams, sees
    the agents read-only and none of the admin sections."""
    ws = await make_workspace()
    _id, email, password = await add_agent(ws, role=Role.supervisor)
    client = await console_client(live_server, email, password)
    home = await client.get("/console")
    assert 'id="nav-settings"' in home.text
    page = await client.get("/console/settings")
    assert page.status_code == 200
    assert 'id="team-section"' in page.text and 'id="team-create"' in page.text
    assert ws.agent_email in page.text  # the agents, read-only
    for hidden in (
        'id="agent-create"',
        'class="inline-form agent-role"',
        'class="inline-form agent-active"',
        'id="inbox-table"',
        'id="tokens-section"',
        'id="limits-section"',
        'id="privacy-section"',
    ):
        assert hidden not in page.text, hidden

    r = await post(client, "/console/settings/teams", {"name": "매니저의 팀"})
    assert r.status_code == 200 and "매니저의 팀" in r.text
    async with session_scope() as session:
        (team,) = await accounts.list_teams(session, workspace_id=ws.workspace_id)
    r = await post(client, f"/console/settings/teams/{team.id}", {"agent_ids": str(ws.agent_id)})
    assert r.status_code == 200
    async with session_scope() as session:
        assert await accounts.team_member_ids(session, workspace_id=ws.workspace_id, team_id=team.id) == [
            ws.agent_id
        ]
    for path, data in (
        ("/console/settings/agents", {"name": "x", "email": "sup-x@x.xx", "password": "long-enough"}),
        (f"/console/settings/agents/{ws.agent_id}", {"role": "agent"}),
        ("/console/settings/tokens", {"name": "몰래"}),
        ("/console/settings/rate-limits", {}),
    ):
        r = await post(client, path, data)
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_required", path
    assert (await _agent("sup-x@x.xx")) is None
    r = await post(client, f"/console/settings/teams/{team.id}/delete")
    assert r.status_code == 200 and "data-team-id" not in r.text
    await client.aclose()
