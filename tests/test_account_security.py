"""Accounts and access (issue 7, section 2): two-step sign-in with recovery codes and
enforcement, console sessions listed and revocable, the password policy, allowed e-mail
domains. Real server, real cookies, real TOTP codes."""

from __future__ import annotations

import re
import time

import httpx
import pyotp
import pytest

from tests.frames import refusal_code
from tests.test_console_helpers import console_client, csrf_of, login, post

SECRET_RE = re.compile(r'id="enrol-secret">([A-Z2-7]+)<')
CODES_RE = re.compile(r"\b([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})\b")


def api(server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"})


async def agent_with_token(ws, *, role: str = "agent", email: str | None = None):
    """Another agent of the workspace with its own password; returns (id, email, password)."""
    from sodam.accounts import service as accounts
    from sodam.accounts.models import Role
    from sodam.db.session import session_scope

    email = email or f"{role}-{time.monotonic_ns()}@{ws.slug}.test"
    password = "quiet-meadow-" + str(time.monotonic_ns())[-6:]
    async with session_scope() as session:
        agent = await accounts.create_agent(
            session,
            workspace_id=ws.workspace_id,
            email=email,
            name="두번째 상담원",
            password=password,
            role=Role(role),
        )
    return agent.id, email, password


async def enrol(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Turn on two-step sign-in from the account page; returns (secret, recovery codes)."""
    started = await post(client, "/console/account/two-factor/start")
    assert started.status_code == 200, started.text
    assert "<svg" in started.text
    secret = SECRET_RE.search(started.text).group(1)
    wrong = await post(client, "/console/account/two-factor/confirm", {"code": "000000"})
    assert wrong.status_code == 422 and 'id="account-error"' in wrong.text
    confirmed = await post(
        client, "/console/account/two-factor/confirm", {"code": pyotp.TOTP(secret).at(time.time())}
    )
    assert confirmed.status_code == 200, confirmed.text
    shown = confirmed.text.split('id="recovery-codes"', 1)[-1]  # the codes block, not the whole page
    codes = CODES_RE.findall(shown)
    assert len(codes) == 10
    return secret, codes


def browser(server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"Accept": "text/html"})


async def verify(client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/console/login/verify")
    assert page.status_code == 200
    return await client.post("/console/login/verify", data={"code": code, "csrf_token": csrf_of(client)})


async def test_two_step_sign_in_with_totp_and_recovery_codes(live_server, make_workspace):
    ws = await make_workspace()
    first = await console_client(live_server, ws.agent_email, ws.agent_password)
    secret, codes = await enrol(first)
    await first.aclose()

    async with browser(live_server) as client:
        r = await login(client, ws.agent_email, ws.agent_password)
        assert r.status_code == 303 and r.headers["location"] == "/console/login/verify"
        # The password alone opens nothing.
        assert (await client.get("/console", follow_redirects=False)).status_code == 303
        assert (await verify(client, "123456")).status_code == 400
        next_step = pyotp.TOTP(secret).at(time.time() + 30)
        ok = await verify(client, next_step)
        assert ok.status_code == 303 and ok.headers["location"] == "/console"
        assert (await client.get("/console")).status_code == 200

    # The same code never works twice.
    async with browser(live_server) as client:
        r = await login(client, ws.agent_email, ws.agent_password)
        assert (await verify(client, next_step)).status_code == 400
        # A recovery code works once, with or without its dashes and in capitals.
        assert (await verify(client, codes[0].replace("-", "").upper())).status_code == 303
        account = await client.get("/console/account")
        assert "남은 복구 코드: 9개" in account.text
        assert 'data-kind="recovery_code_used"' in account.text
    async with browser(live_server) as client:
        r = await login(client, ws.agent_email, ws.agent_password)
        assert (await verify(client, codes[0])).status_code == 400


async def test_code_guesses_count_toward_the_account_lock(live_server, make_workspace):
    ws = await make_workspace()
    first = await console_client(live_server, ws.agent_email, ws.agent_password)
    secret, _codes = await enrol(first)
    await first.aclose()
    async with browser(live_server) as client:
        _ = await login(client, ws.agent_email, ws.agent_password)
        statuses = [(await verify(client, f"{i:06d}")).status_code for i in range(12)]
        assert 429 in statuses, statuses
        refused = await verify(client, pyotp.TOTP(secret).now())
        assert refused.status_code == 429 and "Retry-After" in refused.headers


async def test_required_two_step_sign_in_blocks_everything_until_set_up(live_server, make_workspace):
    ws = await make_workspace()
    _agent_id, email, password = await agent_with_token(ws)
    async with api(live_server, ws.api_token) as admin:
        r = await admin.patch("/workspace/security", json={"require_2fa": True})
        assert r.status_code == 200 and r.json()["require_2fa"] is True

    client = await console_client(live_server, email, password)
    try:
        page = await client.get("/console", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/console/account?required=1"
        data = await client.get("/console/contacts", headers={"Accept": "application/json"})
        assert data.status_code == 403 and data.json()["error"]["code"] == "two_factor_enrolment_required"
        cookie = {"Cookie": f"sodam_session={client.cookies.get('sodam_session')}"}
        assert await refusal_code(f"{live_server.ws_url}/api/v1/realtime", additional_headers=cookie) == 4401
        account = await client.get("/console/account?required=1")
        assert 'id="two-factor-required"' in account.text
        secret, _ = await enrol(client)
        assert (await client.get("/console")).status_code == 200
        # Required: it cannot be turned off.
        off = await post(client, "/console/account/two-factor/disable", {"code": pyotp.TOTP(secret).now()})
        assert off.status_code == 409
    finally:
        await client.aclose()


async def test_sessions_are_listed_and_revocable(live_server, make_workspace):
    ws = await make_workspace()
    laptop = await console_client(live_server, ws.agent_email, ws.agent_password)
    phone = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        async with api(live_server, ws.api_token) as me:
            listed = (await me.get("/agents/me/sessions")).json()
        assert len(listed) == 2 and all(s["ip"] == "127.0.0.1" for s in listed)
        page = await laptop.get("/console/account")
        assert page.text.count("data-session-id=") == 2
        ended = await post(laptop, "/console/account/sessions/revoke-others")
        assert ended.status_code == 200
        gone = await phone.get("/console/contacts", headers={"Accept": "application/json"})
        assert gone.status_code == 401
        assert (await laptop.get("/console")).status_code == 200
        # Signing out ends the row, not only the cookie: a copied cookie is worthless after.
        stolen = {"sodam_session": laptop.cookies.get("sodam_session")}
        await post(laptop, "/console/logout")
        async with httpx.AsyncClient(base_url=live_server.url, cookies=stolen) as thief:
            r = await thief.get("/console/contacts", headers={"Accept": "application/json"})
        assert r.status_code == 401
    finally:
        await laptop.aclose()
        await phone.aclose()


async def test_an_admin_sees_and_ends_an_agents_sessions_and_resets_their_second_factor(
    live_server, make_workspace
):
    ws = await make_workspace()
    agent_id, email, password = await agent_with_token(ws)
    client = await console_client(live_server, email, password)
    secret, _ = await enrol(client)
    async with api(live_server, ws.api_token) as admin:
        assert len((await admin.get(f"/agents/{agent_id}/sessions")).json()) == 1
        assert (await admin.delete(f"/agents/{agent_id}/sessions")).status_code == 204
        assert (await admin.get(f"/agents/{agent_id}/sessions")).json() == []
        reset = await admin.post(f"/agents/{agent_id}/two-factor/reset")
        assert reset.json() == {"agent_id": agent_id, "enabled": False}
    assert (await client.get("/console/contacts", headers={"Accept": "application/json"})).status_code == 401
    await client.aclose()
    async with browser(live_server) as again:
        r = await login(again, email, password)
        assert r.status_code == 303 and r.headers["location"] == "/console"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw", "too_short"),
        ("1q2w3e4r5t", "common"),
        ("Password123", "common"),
        ("aaaaaaaaaaaa", "repetitive"),
    ],
)
async def test_password_policy_refuses_weak_passwords(live_server, make_workspace, password, reason):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as admin:
        r = await admin.post(
            "/agents", json={"email": f"new@{ws.slug}.test", "name": "새 상담원", "password": password}
        )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "weak_password"
    assert r.json()["error"]["details"]["reason"] == reason


async def test_password_policy_is_per_workspace_and_refuses_personal_passwords(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as admin:
        personal = await admin.post(
            "/agents",
            json={"email": f"minji.kim@{ws.slug}.test", "name": "김민지", "password": "minji.kim-2026!"},
        )
        assert personal.json()["error"]["details"]["reason"] == "personal"
        assert (await admin.patch("/workspace/security", json={"password_min_length": 16})).status_code == 200
        r = await admin.post(
            "/agents", json={"email": f"a@{ws.slug}.test", "name": "가", "password": "quiet-meadow-42"}
        )
        assert r.json()["error"]["details"] == {"reason": "too_short", "min_length": 16}
        r = await admin.post(
            "/agents", json={"email": f"a@{ws.slug}.test", "name": "가", "password": "quiet-meadow-4242"}
        )
        assert r.status_code == 201
        assert (await admin.patch("/workspace/security", json={"password_min_length": 4})).status_code == 422


async def test_allowed_email_domains(live_server, make_workspace):
    ws = await make_workspace()
    async with api(live_server, ws.api_token) as admin:
        bad = await admin.patch("/workspace/security", json={"allowed_email_domains": ["not a domain"]})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_domain"
        r = await admin.patch("/workspace/security", json={"allowed_email_domains": ["@Example.CO.KR"]})
        assert r.json()["allowed_email_domains"] == ["example.co.kr"]
        outside = await admin.post(
            "/agents", json={"email": "someone@gmail.com", "name": "외부", "password": "quiet-meadow-4242"}
        )
        assert outside.status_code == 422 and outside.json()["error"]["code"] == "email_domain_not_allowed"
        inside = await admin.post(
            "/agents", json={"email": "staff@example.co.kr", "name": "직원", "password": "quiet-meadow-4242"}
        )
        assert inside.status_code == 201


async def test_only_admins_change_the_sign_in_rules(live_server, make_workspace):
    ws = await make_workspace()
    _id, email, password = await agent_with_token(ws, role="supervisor")
    client = await console_client(live_server, email, password)
    try:
        assert (await client.get("/console/settings/security")).status_code == 403
    finally:
        await client.aclose()
    admin = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await admin.get("/console/settings/security")
        assert page.status_code == 200 and 'id="security-form"' in page.text
        saved = await post(
            admin,
            "/console/settings/security",
            {"require_2fa": "1", "password_min_length": "12", "allowed_email_domains": "example.co.kr"},
        )
        assert saved.status_code == 200 and 'id="security-saved"' in saved.text
    finally:
        await admin.aclose()
    async with api(live_server, ws.api_token) as api_admin:
        rules = (await api_admin.get("/workspace/security")).json()
    assert rules == {
        "require_2fa": True,
        "password_min_length": 12,
        "allowed_email_domains": ["example.co.kr"],
    }


async def test_a_console_page_the_role_may_not_open_is_a_page_not_json(live_server, make_workspace):
    ws = await make_workspace()
    _id, email, password = await agent_with_token(ws)
    client = await console_client(live_server, email, password)
    try:
        page = await client.get("/console/settings/security")
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/html")
        assert 'id="forbidden"' in page.text and "받은 문의함으로 돌아가기" in page.text
        data = await client.get("/console/settings/security", headers={"Accept": "application/json"})
        assert data.status_code == 403 and data.json()["error"]["code"] == "permission_required"
    finally:
        await client.aclose()
