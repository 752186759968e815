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


def test_a_first_demo_seed_prepares_the_bot_s_vectors_before_any_worker_runs(database_url):
    """A newcomer's first question comes within a minute of the first start: the demo's
    articles have their sentence vectors when `sodam demo` (and `sodam serve`) returns, not
    after a background job (without them the ranking is lexical alone)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from sodam.db.embedded import ensure_database
    from sodam.db.session import libpq_url
    from sodam.nlp import encoders

    if not encoders.available_channels():
        import pytest

        pytest.skip("no sentence encoder installed")
    admin = libpq_url(database_url)
    name = "sodam_demo_" + secrets.token_hex(3)
    ensure_database(admin, name)
    fresh = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        first = sodam("demo", database_url=fresh)
        assert first.returncode == 0, first.stdout + first.stderr
        with psycopg.connect(fresh) as conn:
            (stored,) = conn.execute("SELECT count(*) FROM kb_embeddings").fetchone()
            (waiting,) = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'knowledge.embed_articles'"
            ).fetchone()
        assert stored > 0 and waiting > 0  # the jobs are still there (no worker ran): the CLI did it
        again = sodam("demo", database_url=fresh)
        assert again.returncode == 0 and "preparing" not in again.stdout and "already there" in again.stdout
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
