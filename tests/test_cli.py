"""The `sodam` command line against the test database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.frames import bearer, next_frame


def sodam(*args: str, database_url: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SODAM_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "sodam.cli", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_agent_then_token_authenticates(database_url, live_server):
    slug = "cli-" + secrets.token_hex(3)
    email = f"agent@{slug}.test"
    created = sodam(
        "admin",
        "create-agent",
        "--email",
        email,
        "--name",
        "정상담",
        "--password",
        "long-enough-pw",
        "--workspace",
        slug,
        "--role",
        "supervisor",
        database_url=database_url,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert email in created.stdout
    token = sodam("token", "create", "--email", email, "--name", "ci", database_url=database_url)
    assert token.returncode == 0, token.stdout + token.stderr
    raw = token.stdout.strip().splitlines()[-1]
    assert raw.startswith("sdm_")
    # The token opens the agent socket of that workspace (and nothing else is needed).
    import asyncio

    import websockets

    async def hello():
        async with websockets.connect(f"{live_server.ws_url}/api/v1/realtime", **bearer(raw)) as ws:
            return await next_frame(ws)

    frame = asyncio.run(hello())
    assert frame["type"] == "hello"


def test_cli_rejects_bad_input_with_message_and_exit_code(database_url):
    bad_role = sodam(
        "admin",
        "create-agent",
        "--email",
        "x@y.test",
        "--name",
        "x",
        "--password",
        "long-enough-pw",
        "--role",
        "boss",
        database_url=database_url,
    )
    assert bad_role.returncode == 2
    assert "unknown role" in bad_role.stdout
    weak = sodam(
        "admin",
        "create-agent",
        "--email",
        "weak@y.test",
        "--name",
        "x",
        "--password",
        "short",
        database_url=database_url,
    )
    assert weak.returncode == 2
    assert "at least 10" in weak.stdout
    unknown = sodam("token", "create", "--email", "nobody@nowhere.test", database_url=database_url)
    assert unknown.returncode == 2
    assert "no agent" in unknown.stdout
