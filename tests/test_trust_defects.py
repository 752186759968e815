"""Defects found in acceptance testing (issue 7, section 1): out-of-range numbers, credentials
in socket URLs, visitor tokens that never expired, refusals without close codes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from unittest import mock

import httpx
import pytest
import websockets

from tests.conftest import TEST_SECRET, free_port
from tests.frames import bearer, next_frame, widget_socket_url
from tests.test_console_helpers import console_client, seed_conversation

TOO_BIG_SEQ = 68719476737  # > int4: the value that used to give a 500
TOO_BIG_ID = 99999999999999999999  # > bigint


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as c:
        yield c


async def new_visitor(client, inbox_token: str) -> str:
    r = await client.post(f"/widget/v1/{inbox_token}/session", json={"locale": "ko"})
    assert r.status_code == 200, r.text
    return r.json()["visitor_token"]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) >= {"code", "message"}
    if code:
        assert body["error"]["code"] == code


# ---- numbers out of range: 404/422 with the error body, never 500 ----------------------------


async def test_out_of_range_numbers_are_422_not_500(live_server, client, make_workspace):
    ws = await make_workspace()
    visitor = await new_visitor(client, ws.inbox_token)
    headers = {"X-Sodam-Visitor": visitor}
    for params in ({"after_seq": TOO_BIG_SEQ}, {"conversation_id": TOO_BIG_ID}, {"after_seq": -1}):
        r = await client.get(f"/widget/v1/{ws.inbox_token}/messages", params=params, headers=headers)
        assert_error(r, 422)

    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        conversation_id, _ = await seed_conversation(ws)
        r = await console.get(f"/console/conversations/{conversation_id}/timeline?after_seq={TOO_BIG_SEQ}")
        assert_error(r, 422)
        r = await console.get(f"/console/conversations/{conversation_id}/timeline?after_event={TOO_BIG_ID}")
        assert_error(r, 422)
        for path in (f"/console/conversations/{TOO_BIG_ID}", f"/console/contacts/{TOO_BIG_ID}"):
            r = await console.get(path, headers={"Accept": "application/json"})
            assert r.status_code in (404, 422), (path, r.status_code)
        r = await console.get(f"/console/conversations/{2**62}", headers={"Accept": "application/json"})
        assert_error(r, 404)
    finally:
        await console.aclose()


async def test_socket_with_an_out_of_range_after_seq_says_why_and_closes_4400(
    live_server, client, make_workspace
):
    ws = await make_workspace()
    visitor = await new_visitor(client, ws.inbox_token)
    url = await widget_socket_url(live_server, ws.inbox_token, visitor, after_seq=TOO_BIG_SEQ)
    async with websockets.connect(url) as sock:
        frame = await next_frame(sock)
        await sock.wait_closed()
    assert frame["type"] == "error" and frame["error"]["code"] == "validation_error"
    assert sock.close_code == 4400


async def test_a_json_body_that_is_not_utf8_is_422_malformed_json(client, make_workspace):
    ws = await make_workspace()
    visitor = await new_visitor(client, ws.inbox_token)
    r = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        content=b'{"content": "\xff\xfe", "client_id": "x"}',
        headers={"X-Sodam-Visitor": visitor, "Content-Type": "application/json"},
    )
    assert_error(r, 422, "malformed_json")
    r = await client.post(
        "/api/v1/contacts",
        content=b'{"name": "\xc3\x28"}',
        headers={"Authorization": f"Bearer {ws.api_token}", "Content-Type": "application/json"},
    )
    assert_error(r, 422, "malformed_json")


# ---- sockets: one-use tickets, no credential in the URL, close codes ---------------------------


async def test_a_socket_ticket_opens_one_socket_once(live_server, client, make_workspace):
    ws = await make_workspace()
    visitor = await new_visitor(client, ws.inbox_token)
    url = await widget_socket_url(live_server, ws.inbox_token, visitor)
    async with websockets.connect(url) as sock:
        assert (await next_frame(sock))["type"] == "hello"
    async with websockets.connect(url) as replay:
        assert (await next_frame(replay))["error"]["code"] == "invalid_socket_ticket"
        await replay.wait_closed()
    assert replay.close_code == 4401
    # The visitor token itself no longer opens a socket from the URL.
    legacy = f"{live_server.ws_url}/widget/v1/{ws.inbox_token}/ws?visitor={visitor}"
    async with websockets.connect(legacy) as sock:
        await sock.wait_closed()
    assert sock.close_code == 4401
    # A ticket is for its own inbox only.
    other = await make_workspace()
    url = await widget_socket_url(live_server, ws.inbox_token, visitor)
    stolen = url.replace(f"/widget/v1/{ws.inbox_token}/", f"/widget/v1/{other.inbox_token}/")
    async with websockets.connect(stolen) as sock:
        await sock.wait_closed()
    assert sock.close_code == 4401


async def test_unknown_inbox_socket_closes_4404(live_server):
    async with websockets.connect(f"{live_server.ws_url}/widget/v1/no-such-inbox/ws?ticket=x") as sock:
        assert (await next_frame(sock))["type"] == "error"
        await sock.wait_closed()
    assert sock.close_code == 4404


async def test_agent_socket_takes_a_ticket_or_a_header_never_a_token_in_the_url(
    live_server, client, make_workspace
):
    ws = await make_workspace()
    base = f"{live_server.ws_url}/api/v1/realtime"
    async with websockets.connect(f"{base}?access_token={ws.api_token}") as sock:
        assert (await next_frame(sock))["error"]["code"] == "unauthorized"
        await sock.wait_closed()
    assert sock.close_code == 4401

    r = await client.post("/api/v1/realtime/ticket")
    assert_error(r, 401)
    r = await client.post("/api/v1/realtime/ticket", headers={"Authorization": f"Bearer {ws.api_token}"})
    assert r.status_code == 200 and r.json()["expires_in"] <= 60
    ticket = r.json()["ticket"]
    async with websockets.connect(f"{base}?ticket={ticket}") as sock:
        hello = await next_frame(sock)
        assert (hello["type"], hello["workspace_id"]) == ("hello", ws.workspace_id)
        # A ping with spaces is still a ping.
        await sock.send('{"type": "ping"}')
        assert (await next_frame(sock))["type"] == "pong"
        await sock.send("ping")
        assert (await next_frame(sock))["type"] == "pong"
    async with websockets.connect(f"{base}?ticket={ticket}") as sock:
        await sock.wait_closed()
    assert sock.close_code == 4401
    async with websockets.connect(base, **bearer(ws.api_token)) as sock:
        assert (await next_frame(sock))["type"] == "hello"


def test_query_strings_are_redacted_in_server_logs():
    from sodam.core.logredact import RedactQueryStrings, redact_url

    line = redact_url("/widget/v1/abc/ws?ticket=skt_secret&after_seq=4&visitor=eyJ.sig")
    assert "skt_secret" not in line and "eyJ" not in line
    assert "after_seq=4" in line
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/api/v1/realtime?access_token=sdm_leak"),
        None,
    )
    RedactQueryStrings().filter(record)
    assert "sdm_leak" not in record.getMessage()


async def test_server_log_keeps_no_ticket_or_token(database_url, make_workspace, tmp_path):
    """A server at INFO (as `sodam serve` runs) logs handshakes without their credentials."""
    port = free_port()
    env = {**os.environ, "SODAM_DATABASE_URL": database_url, "SODAM_SECRET_KEY": TEST_SECRET}
    log_path = tmp_path / "server.log"
    proc = _start_uvicorn(port, env, log_path)
    try:
        url = f"http://127.0.0.1:{port}"
        await _wait_healthy(url)
        ws = await make_workspace()
        async with httpx.AsyncClient(base_url=url) as c:
            visitor = (await c.post(f"/widget/v1/{ws.inbox_token}/session", json={})).json()["visitor_token"]
            r = await c.post(
                f"/widget/v1/{ws.inbox_token}/socket-ticket", headers={"X-Sodam-Visitor": visitor}
            )
            ticket = r.json()["ticket"]
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/widget/v1/{ws.inbox_token}/ws?ticket={ticket}"
        ) as s:
            await next_frame(s)
    finally:
        proc.terminate()
        proc.wait(10)
    text = log_path.read_text()
    assert "WebSocket" in text  # the handshake was logged...
    assert ticket not in text and visitor not in text  # ...without its credential


def _start_uvicorn(port: int, env: dict, log_path) -> subprocess.Popen:
    """uvicorn at its default log level (INFO), as a production server logs."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "sodam.app:create_app", "--factory", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as c:
        while time.monotonic() < deadline:
            try:
                if (await c.get(url + "/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


# ---- visitor tokens expire and are renewed by POST /session --------------------------------


async def test_an_expired_visitor_token_is_refused_and_renewed_with_its_history(client, make_workspace):
    ws = await make_workspace()
    fresh = await client.post(f"/widget/v1/{ws.inbox_token}/session", json={})
    contact_id = fresh.json()["contact_id"]
    sent = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"content": "예전에 보낸 문의입니다", "client_id": str(uuid.uuid4())},
        headers={"X-Sodam-Visitor": fresh.json()["visitor_token"]},
    )
    assert sent.status_code == 201

    from itsdangerous import URLSafeTimedSerializer

    claims = {"w": ws.workspace_id, "i": ws.inbox_id, "c": contact_id}
    serializer = URLSafeTimedSerializer(TEST_SECRET, salt="sodam.visitor")
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 2 * 24 * 3600):
        two_days_old = serializer.dumps(claims)
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 400 * 24 * 3600):
        ancient = serializer.dumps(claims)

    r = await client.get(f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": two_days_old})
    assert_error(r, 401, "visitor_token_expired")
    r = await client.post(
        f"/widget/v1/{ws.inbox_token}/socket-ticket", headers={"X-Sodam-Visitor": two_days_old}
    )
    assert_error(r, 401, "visitor_token_expired")

    renewed = await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"visitor_token": two_days_old})
    assert renewed.json()["contact_id"] == contact_id
    token = renewed.json()["visitor_token"]
    assert token != two_days_old
    history = await client.get(f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": token})
    assert [m["content"] for m in history.json()["messages"]] == ["예전에 보낸 문의입니다"]

    # Past the resume window a token is worth nothing: a new visitor.
    stranger = await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"visitor_token": ancient})
    assert stranger.json()["contact_id"] != contact_id


# ---- kill <pid> of sodam serve stops the embedded database -------------------------------------


@pytest.mark.skipif(os.environ.get("SODAM_TEST_DATABASE_URL") is not None, reason="embedded PostgreSQL only")
def test_sigterm_of_sodam_serve_stops_its_embedded_database():
    import tempfile
    from pathlib import Path

    from sodam.db.embedded import embedded_running

    data_dir = Path(tempfile.mkdtemp(prefix="sodam-sigterm-"))
    data_dir.chmod(0o755)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SODAM_")}
    env.update({"SODAM_DATA_DIR": str(data_dir), "SODAM_PORT": str(port)})
    sodam = Path(sys.executable).with_name("sodam")
    proc = subprocess.Popen(
        [str(sodam), "serve", "--no-demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert embedded_running(data_dir)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        assert not embedded_running(data_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run([str(sodam), "db", "stop"], env=env, capture_output=True)
