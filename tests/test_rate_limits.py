"""Rate limits: GCRA buckets in PostgreSQL shared by every process (sodam.core.ratelimit)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import websockets
from starlette.requests import Request

from sodam.accounts import service as accounts
from sodam.app import create_app
from sodam.config import Settings
from sodam.core.ratelimit import Rate, client_ip, hit, hit_all, parse_rate, purge
from sodam.db.session import raw_pool, session_scope
from tests.frames import bearer, next_frame, refusal_code, widget_socket_url


def test_parse_rate():
    assert parse_rate("60/minute") == Rate(60, 60.0)
    assert parse_rate("5/10s") == Rate(5, 10.0)
    assert parse_rate("1000/hours") == Rate(1000, 3600.0)
    for bad in ("", "60", "0/minute", "5/fortnight", "x/minute"):
        with pytest.raises(ValueError):
            parse_rate(bad)


async def test_gcra_burst_refusal_and_exact_retry(db):
    subject = secrets.token_hex(4)
    rate = Rate(5, 10.0)
    t0 = 1_000_000.0
    decisions = [await hit(rule="t", subject=subject, rate=rate, now=t0) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    refused = decisions[-1]
    assert refused.retry_after_s == pytest.approx(2.0)  # one token every 10/5 s
    assert refused.retry_after == 2
    # A refused request spends nothing: 1.99 s later still refused, at 2.0 s allowed again.
    assert not (await hit(rule="t", subject=subject, rate=rate, now=t0 + 1.99)).allowed
    assert (await hit(rule="t", subject=subject, rate=rate, now=t0 + 2.0)).allowed
    # After a whole period of quiet the full burst is back.
    later = [await hit(rule="t", subject=subject, rate=rate, now=t0 + 12.1) for _ in range(5)]
    assert all(d.allowed for d in later)


async def test_hit_all_stops_at_first_refusal(db):
    narrow, wide = secrets.token_hex(4), secrets.token_hex(4)
    t0 = 2_000_000.0
    checks = [("n", narrow, Rate(2, 60.0)), ("w", wide, Rate(100, 60.0))]
    first = await hit_all(checks, now=t0)
    assert [d.allowed for d in first] == [True, True]
    await hit_all(checks, now=t0)
    third = await hit_all(checks, now=t0)
    assert len(third) == 1 and not third[0].allowed  # the wide bucket was not asked
    wide_state = await hit(rule="w", subject=wide, rate=Rate(100, 60.0), now=t0)
    assert wide_state.remaining == 100 - 3


async def test_a_batch_answers_as_one_check_after_another(make_workspace):
    """sodam_rate_hit_many (many callers' checks in one statement, each bucket updated in
    place) against sodam_rate_hit called check by check, stopping at a caller's first
    refusal: the same answers, on shared and new buckets, with and without a workspace's
    override, across refills."""
    import random

    plain, limited = await make_workspace(), await make_workspace()
    pool = await raw_pool()
    async with pool.connection() as conn:
        source = await (
            await conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'sodam_rate_hit_many'")
        ).fetchone()
        assert "UPDATE rate_limit_buckets" in source[0]  # migration 0046's, not a nested call per check
        await conn.execute(
            "UPDATE workspaces SET rate_limits = %s::jsonb WHERE id = %s",
            (json.dumps({"r1": {"limit": 1, "period_s": 3}}), limited.workspace_id),
        )
    rng = random.Random(11)
    run = secrets.token_hex(3)
    seen = set()
    t = 3_000_000.0
    for _ in range(12):
        t += rng.choice([0.0, 0.4, 1.5, 4.0])
        callers = []
        for _caller in range(rng.randint(1, 12)):
            ws = rng.choice([None, plain.workspace_id, limited.workspace_id])
            checks = [
                (rng.choice(["r1", "r2"]), f"s{rng.randint(0, 4)}", rng.randint(1, 4), rng.choice([2.0, 5.0]))
                for _ in range(rng.randint(1, 3))
            ]
            callers.append((ws, checks))
        rows = [
            (n, f"many-{run}:{rule}:{subject}:{ws}", rule, ws, limit, period, t)
            for n, (ws, checks) in enumerate(callers)
            for rule, subject, limit, period in checks
        ]
        async with pool.connection() as conn:
            got = await (
                await conn.execute(
                    "SELECT caller, idx, allowed, rule_limit, period_s, remaining, retry_after_s, reset_s"
                    " FROM sodam_rate_hit_many(%s::int[], %s::text[], %s::text[], %s::bigint[],"
                    " %s::int[], %s::float8[], %s::float8[])",
                    [list(column) for column in zip(*rows, strict=True)],
                )
            ).fetchall()
            expected = []
            refused = None
            for i, (n, key, rule, ws, limit, period, now) in enumerate(rows, start=1):
                if n == refused:
                    continue
                one = await (
                    await conn.execute(
                        "SELECT * FROM sodam_rate_hit(%s, %s, %s, %s, %s, 1, %s)",
                        (key.replace("many-", "one-"), rule, ws, limit, period, now),
                    )
                ).fetchone()
                expected.append((n, i, *one))
                if not one[0]:
                    refused = n

        def rounded(rows):
            return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]

        assert rounded(got) == rounded(expected)
        seen.update(("refused" if not row[2] else "allowed", row[3] == 1) for row in got)
    assert {("refused", True), ("refused", False), ("allowed", True)} <= seen  # the cases came up


# ---- over real HTTP -------------------------------------------------------------------

# The suite relaxes the per-IP limits (conftest); these tests put the real defaults back.
PER_IP_DEFAULTS = {
    name: Settings.model_fields[name].default
    for name in (
        "rate_limit_widget_session_ip",
        "rate_limit_widget_message_ip",
        "rate_limit_widget_read_ip",
        "rate_limit_helpcenter_search_ip",
        "rate_limit_helpcenter_vote_ip",
    )
}


def some_ip() -> str:
    return f"192.0.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def app_client(ip: str | None = None, clock=None, **overrides) -> httpx.AsyncClient:
    """A second app, in this process, on the same database, behind a trusted proxy so each
    test speaks from its own address (and, given a clock, counting on it: a slow machine then
    cannot refill a bucket in the middle of a test)."""
    app = create_app(Settings(**{**PER_IP_DEFAULTS, "trusted_proxies": "127.0.0.1", **overrides}))
    app.state.clock = clock
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sodam.test",
        headers={"X-Forwarded-For": ip or some_ip()},
    )


async def override(ws, **rules: tuple[int, int]) -> None:
    async with session_scope() as session:
        await accounts.set_rate_limits(
            session,
            workspace_id=ws.workspace_id,
            changes={rule: {"limit": limit, "period_s": period} for rule, (limit, period) in rules.items()},
        )


def assert_limited(r: httpx.Response, *, rule: str, limit: int) -> int:
    assert r.status_code == 429, r.text
    wait = int(r.headers["Retry-After"])
    assert wait >= 1
    error = r.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"]["retry_after"] == wait
    assert error["details"]["limit"] == limit and error["details"]["rule"] == rule
    return wait


async def new_session(client, ws, **body) -> httpx.Response:
    return await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko", **body})


async def send(client, ws, visitor: str, text: str = "안녕하세요, 문의드립니다") -> httpx.Response:
    return await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"content": text, "client_id": str(uuid.uuid4())},
        headers={"X-Sodam-Visitor": visitor},
    )


async def test_new_visitors_per_ip_default_limit(make_workspace):
    ws = await make_workspace()
    frozen = datetime.now(UTC)
    async with app_client(clock=lambda: frozen) as client:
        sessions = [await new_session(client, ws) for _ in range(30)]
        assert all(r.status_code == 200 for r in sessions)
        wait = assert_limited(await new_session(client, ws), rule="widget_session_ip", limit=30)
        assert wait <= 2  # one new visitor every 2 s comes back
        # A returning visitor creates no contact and is not counted.
        resumed = await new_session(client, ws, visitor_token=sessions[0].json()["visitor_token"])
        assert resumed.status_code == 200 and resumed.json()["contact_id"] == sessions[0].json()["contact_id"]
    async with app_client() as elsewhere:
        assert (await new_session(elsewhere, ws)).status_code == 200


async def test_new_visitors_per_inbox_across_addresses(make_workspace):
    ws = await make_workspace()
    await override(ws, widget_session_inbox=(5, 60))
    for _ in range(5):
        async with app_client() as client:
            assert (await new_session(client, ws)).status_code == 200
    async with app_client() as client:
        assert_limited(await new_session(client, ws), rule="widget_session_inbox", limit=5)
    other = await make_workspace()  # another inbox has its own budget
    async with app_client() as client:
        assert (await new_session(client, other)).status_code == 200


async def test_messages_per_visitor_over_http_and_the_socket(live_server, make_workspace):
    ws = await make_workspace()
    await override(ws, widget_message_visitor=(5, 60))
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        visitor = (await new_session(client, ws)).json()["visitor_token"]
        assert [(await send(client, ws, visitor, f"질문 {i}")).status_code for i in range(5)] == [201] * 5
        assert_limited(await send(client, ws, visitor), rule="widget_message_visitor", limit=5)
        url = await widget_socket_url(live_server, ws.inbox_token, visitor)
        async with websockets.connect(url) as sock:
            assert (await next_frame(sock))["type"] == "hello"
            await sock.send(json.dumps({"type": "message", "client_id": "over-1", "content": "하나 더요"}))
            frame = await next_frame(sock)
            assert frame["type"] == "error" and frame["client_id"] == "over-1"
            assert frame["error"]["code"] == "rate_limited"
            assert 1 <= frame["error"]["details"]["retry_after"] <= 12
            await sock.send(json.dumps({"type": "ping"}))  # the socket stays open
            assert (await next_frame(sock))["type"] == "pong"
        stored = await client.get(
            f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": visitor}
        )
        assert [m["content"] for m in stored.json()["messages"]] == [f"질문 {i}" for i in range(5)]


async def test_messages_per_address(make_workspace):
    ws = await make_workspace()
    await override(ws, widget_message_ip=(4, 60))
    ip = some_ip()
    async with app_client(ip) as client:
        a = (await new_session(client, ws)).json()["visitor_token"]
        b = (await new_session(client, ws)).json()["visitor_token"]
        assert [(await send(client, ws, v)).status_code for v in (a, b, a, b)] == [201] * 4
        assert_limited(await send(client, ws, a), rule="widget_message_ip", limit=4)
    async with app_client() as elsewhere:
        c = (await new_session(elsewhere, ws)).json()["visitor_token"]
        assert (await send(elsewhere, ws, c)).status_code == 201


async def test_widget_reads_and_socket_tickets_per_address(make_workspace):
    ws = await make_workspace()
    await override(ws, widget_read_ip=(4, 60))
    async with app_client() as client:
        visitor = (await new_session(client, ws)).json()["visitor_token"]
        headers = {"X-Sodam-Visitor": visitor}
        base = f"/widget/v1/{ws.inbox_token}"
        calls = [
            client.get(f"{base}/config"),
            client.get(f"{base}/messages", headers=headers),
            client.get(f"{base}/queue", headers=headers),
            client.post(f"{base}/socket-ticket", headers=headers),
        ]
        assert [(await call).status_code for call in calls] == [200] * 4
        assert_limited(
            await client.post(f"{base}/socket-ticket", headers=headers), rule="widget_read_ip", limit=4
        )
        assert_limited(await client.get(f"{base}/config"), rule="widget_read_ip", limit=4)


async def test_a_busy_visitor_is_never_throttled_by_normal_use(live_server, make_workspace):
    ws = await make_workspace()  # server defaults: 60 messages a minute per visitor
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        visitor = (await new_session(client, ws)).json()["visitor_token"]
    url = await widget_socket_url(live_server, ws.inbox_token, visitor)
    async with websockets.connect(url) as sock:
        assert (await next_frame(sock))["type"] == "hello"
        for i in range(20):
            await sock.send(
                json.dumps({"type": "message", "client_id": f"burst-{i}", "content": f"메시지 {i}"})
            )
        acks, errors = set(), []
        async with asyncio.timeout(20):
            while len(acks) + len(errors) < 20:
                frame = await next_frame(sock)
                if frame["type"] == "ack":
                    acks.add(frame["client_id"])
                elif frame["type"] == "error":
                    errors.append(frame)
    assert not errors and acks == {f"burst-{i}" for i in range(20)}


async def test_help_center_search_and_votes_per_address(make_workspace):
    ws = await make_workspace()
    await override(ws, helpcenter_search_ip=(3, 60), helpcenter_vote_ip=(2, 60))
    async with app_client() as client:
        for _ in range(3):
            assert (await client.get(f"/help/{ws.slug}/search", params={"q": "배송"})).status_code == 200
        limited = await client.get(f"/help/{ws.slug}/search", params={"q": "배송"})
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 20
        assert "요청이 너무 많습니다" in limited.text and 'id="hc-rate-limited"' in limited.text
        english = await client.get(f"/help/{ws.slug}/search", params={"q": "refund", "lang": "en"})
        assert english.status_code == 429 and "Too many requests" in english.text
        votes = [
            (await client.post(f"/help/{ws.slug}/articles/1/vote", data={"helpful": "yes"})).status_code
            for _ in range(3)
        ]
        assert votes == [403, 403, 429]  # counted before the vote is even checked
    async with app_client() as elsewhere:
        assert (await elsewhere.get(f"/help/{ws.slug}/search", params={"q": "배송"})).status_code == 200


async def test_api_token_limit_with_headers(live_server, make_workspace):
    ws, other = await make_workspace(), await make_workspace()
    await override(ws, api_token=(5, 60))
    async with httpx.AsyncClient(base_url=live_server.url + "/api/v1", timeout=10) as api:
        auth = {"Authorization": f"Bearer {ws.api_token}"}
        answers = [await api.get("/agents/me", headers=auth) for _ in range(5)]
        assert [r.status_code for r in answers] == [200] * 5
        assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"5"}
        assert [int(r.headers["X-RateLimit-Remaining"]) for r in answers] == [4, 3, 2, 1, 0]
        assert all(1 <= int(r.headers["X-RateLimit-Reset"]) <= 60 for r in answers)
        refused = await api.get("/agents/me", headers=auth)
        wait = assert_limited(refused, rule="api_token", limit=5)
        assert 10 <= wait <= 12 and refused.headers["X-RateLimit-Remaining"] == "0"
        fine = await api.get("/agents/me", headers={"Authorization": f"Bearer {other.api_token}"})
        assert fine.status_code == 200 and fine.headers["X-RateLimit-Limit"] == "600"
    # The live socket opened with the same token counts against it too.
    code = await refusal_code(f"{live_server.ws_url}/api/v1/realtime", **bearer(ws.api_token))
    assert code == 4429


async def test_a_limit_is_shared_by_two_server_processes(live_server, make_workspace):
    ws = await make_workspace()
    await override(ws, widget_message_visitor=(4, 60))
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=10) as subprocess_app,
        app_client() as in_process_app,
    ):
        visitor = (await new_session(subprocess_app, ws)).json()["visitor_token"]
        assert (await send(subprocess_app, ws, visitor)).status_code == 201
        assert (await send(in_process_app, ws, visitor)).status_code == 201
        assert (await send(subprocess_app, ws, visitor)).status_code == 201
        assert (await send(in_process_app, ws, visitor)).status_code == 201
        assert_limited(await send(subprocess_app, ws, visitor), rule="widget_message_visitor", limit=4)
        assert_limited(await send(in_process_app, ws, visitor), rule="widget_message_visitor", limit=4)


async def test_admins_change_the_workspace_limits_over_the_api(live_server, make_workspace):
    from sodam.accounts.models import Role

    ws = await make_workspace()
    async with session_scope() as session:
        _token, spare = await accounts.create_api_token(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, name="spare"
        )
    async with httpx.AsyncClient(base_url=live_server.url + "/api/v1", timeout=10) as api:
        auth = {"Authorization": f"Bearer {ws.api_token}"}
        before = (await api.get("/workspace/rate-limits", headers=auth)).json()["rules"]
        assert before["api_token"] == {
            "limit": 600,
            "period_s": 60,
            "source": "default",
            "default": {"limit": 600, "period_s": 60},
        }
        assert "login_ip" not in before and before["widget_message_visitor"]["limit"] == 60
        changed = await api.patch(
            "/workspace/rate-limits",
            headers=auth,
            json={"rules": {"api_token": {"limit": 3, "period_s": 60}}},
        )
        assert changed.status_code == 200
        assert changed.json()["rules"]["api_token"]["source"] == "workspace"
        statuses = []
        for _ in range(4):
            r = await api.get("/agents/me", headers=auth)
            statuses.append(r.status_code)
            assert r.headers["X-RateLimit-Limit"] == "3"
        assert statuses[-1] == 429 and statuses.count(200) >= 1
        spare_auth = {"Authorization": f"Bearer {spare}"}
        reset = await api.patch(
            "/workspace/rate-limits", headers=spare_auth, json={"rules": {"api_token": None}}
        )
        assert reset.json()["rules"]["api_token"]["source"] == "default"
        bad = [
            await api.patch("/workspace/rate-limits", headers=spare_auth, json=body)
            for body in (
                {"rules": {"api_token": {"limit": 0, "period_s": 60}}},
                {"rules": {"api_token": {"limit": 5, "period_s": 100000}}},
                {"rules": {"login_ip": {"limit": 5, "period_s": 60}}},
            )
        ]
        assert [r.status_code for r in bad] == [422, 422, 422]
    agent_ws = await make_workspace(role=Role.agent)
    async with httpx.AsyncClient(base_url=live_server.url + "/api/v1", timeout=10) as api:
        r = await api.get("/workspace/rate-limits", headers={"Authorization": f"Bearer {agent_ws.api_token}"})
        assert r.status_code == 403


async def test_console_settings_save_the_workspace_limits(live_server, make_workspace):
    from tests.test_console_helpers import console_client, csrf_of

    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await client.get("/console/settings")
        assert (
            page.status_code == 200
            and 'id="limits-table"' in page.text
            and "위젯 메시지 (방문자별)" in page.text
        )
        form = {
            "csrf_token": csrf_of(client),
            "widget_message_visitor.limit": "120",
            "widget_message_visitor.period_s": "60",
        }
        saved = await client.post("/console/settings/rate-limits", data=form)
        assert saved.status_code == 200 and "요청 한도를 저장했습니다" in saved.text
        async with session_scope() as session:
            workspace = await accounts.get_workspace(session, workspace_id=ws.workspace_id)
            assert workspace.rate_limits == {"widget_message_visitor": {"limit": 120, "period_s": 60}}
        form["widget_message_visitor.limit"] = "0"
        refused = await client.post("/console/settings/rate-limits", data=form)
        assert refused.status_code == 422 and 'id="limits-error"' in refused.text
        cleared = await client.post("/console/settings/rate-limits", data={"csrf_token": csrf_of(client)})
        assert cleared.status_code == 200
        async with session_scope() as session:
            workspace = await accounts.get_workspace(session, workspace_id=ws.workspace_id)
            assert workspace.rate_limits == {}
    finally:
        await client.aclose()


def _request(peer: str, forwarded: str | None, trusted: str) -> Request:
    app = create_app(Settings(trusted_proxies=trusted))
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "app": app, "client": (peer, 1234), "headers": headers})


def test_client_ip_believes_x_forwarded_for_only_from_trusted_proxies():
    assert client_ip(_request("203.0.113.9", "1.2.3.4", "")) == "203.0.113.9"
    assert client_ip(_request("203.0.113.9", "1.2.3.4", "10.0.0.0/8")) == "203.0.113.9"
    assert client_ip(_request("10.0.0.2", "1.2.3.4", "10.0.0.0/8")) == "1.2.3.4"
    # The right-most untrusted hop: what the client put in front of it may be forged.
    assert client_ip(_request("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7", "10.0.0.0/8")) == "1.2.3.4"
    assert client_ip(_request("10.0.0.2", "not-an-ip", "10.0.0.0/8")) == "10.0.0.2"
    assert client_ip(_request("10.0.0.2", None, "10.0.0.0/8")) == "10.0.0.2"


async def test_purge_drops_spent_buckets_only(db):
    busy, idle = secrets.token_hex(4), secrets.token_hex(4)
    await hit(rule="p", subject=idle, rate=Rate(5, 1.0), now=time.time() - 10)
    await hit(rule="p", subject=busy, rate=Rate(5, 3600.0))
    await purge()
    pool = await raw_pool()
    async with pool.connection() as conn:
        keys = {row[0] for row in await (await conn.execute("SELECT key FROM rate_limit_buckets")).fetchall()}
    assert f"p:-:{busy}" in keys and f"p:-:{idle}" not in keys
