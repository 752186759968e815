"""Shared fixtures: a real PostgreSQL (embedded by default), a live server, workspace factories."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

# Before anything imports sodam.core.security: argon2id at its smallest cost in this process and
# in every server it starts (the suite hashes a password per workspace and verifies one per
# sign-in; at the production cost that was minutes of a CI run).
os.environ.setdefault("SODAM_INSECURE_FAST_PASSWORD_HASHING", "1")
# The servers' job worker children run at the runner's own priority: a niced worker behind a
# busy test runner (and parallel suites) answered the bot's questions after the tests' 90 s.
# The niceness itself is tested in test_worker_child.py.
os.environ.setdefault("SODAM_WORKER_NICE", "0")

from sodam.db.session import libpq_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEST_SECRET = "test-secret-key-not-for-production"
PER_IP_LIMITS_FOR_THE_SUITE = {
    "SODAM_RATE_LIMIT_WIDGET_SESSION_IP": "1000000/minute",
    "SODAM_RATE_LIMIT_WIDGET_MESSAGE_IP": "1000000/minute",
    "SODAM_RATE_LIMIT_WIDGET_READ_IP": "1000000/minute",
    "SODAM_RATE_LIMIT_HELPCENTER_SEARCH_IP": "1000000/minute",
    "SODAM_RATE_LIMIT_HELPCENTER_VOTE_IP": "1000000/minute",
    "SODAM_RATE_LIMIT_LOGIN_IP": "1000000/minute",
    "SODAM_LOGIN_IP_DELAY_AFTER": "1000000",
    "SODAM_LOGIN_IP_LOCK_AFTER": "1000000",
    # Webhooks: the tests' receivers listen on 127.0.0.1 (refused by default, SSRF); retries
    # come within a second and a subscription pauses after 6 failures in a row (100 by default).
    "SODAM_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1/32",
    "SODAM_WEBHOOK_RETRY_BASE_S": "0.2",
    "SODAM_WEBHOOK_RETRY_FACTOR": "1.5",
    "SODAM_WEBHOOK_MAX_ATTEMPTS": "4",
    "SODAM_WEBHOOK_PAUSE_AFTER": "6",
    "SODAM_WEBHOOK_POLL_S": "0.2",
    "SODAM_WEBHOOK_TIMEOUT_S": "3",
    # Automations: test servers never drain the outbox on their own (tests/automations drive
    # the engine with a controllable clock); the events API still defers its own job.
    "SODAM_AUTOMATIONS_POLL_S": "0",
    # Several test servers run at once against one PostgreSQL: a server PostgreSQL keeps its
    # default 100 connections (CI's PostgreSQL 15), so each server keeps a smaller pool.
    "SODAM_DB_POOL_SIZE": "4",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A fresh, migrated database on SODAM_TEST_DATABASE_URL's server or on an embedded PostgreSQL."""
    from sodam.db.embedded import embedded_running, ensure_database, start_embedded, stop_embedded
    from sodam.db.migrate import upgrade

    name = f"sodam_test_{os.getpid()}_{secrets.token_hex(3)}"
    base = os.environ.get("SODAM_TEST_DATABASE_URL")
    if base:
        admin = libpq_url(base)
        ensure_database(admin, name)
        url = _with_database(admin, name)
    else:
        # Not pytest's tmp_path: pytest prunes old numbered dirs, which races with other
        # concurrent test runs, and its 0700 parents hide the data from the postgres user.
        data_dir = Path(os.environ.get("SODAM_TEST_DATA_DIR") or tempfile.mkdtemp(prefix="sodam-test-pg-"))
        data_dir.chmod(0o755)
        owns_embedded = not embedded_running(data_dir)
        url = start_embedded(data_dir, database=name)
    upgrade(url)
    os.environ["SODAM_DATABASE_URL"] = url
    os.environ["SODAM_SECRET_KEY"] = TEST_SECRET
    # The whole suite is one client address doing the work of thousands of visitors and
    # agents: the per-IP limits would throttle unrelated tests. tests/test_rate_limits.py and
    # tests/test_login_throttle.py check those limits with their defaults, one address each.
    for name, value in PER_IP_LIMITS_FOR_THE_SUITE.items():
        os.environ.setdefault(name, value)
    # No SMTP listener unless a test starts one on a free loopback port (tests/mail).
    os.environ.setdefault("SODAM_SMTP_LISTEN_PORT", "0")
    # Every server's worker may send a mail answer: the same quick retries in all of them.
    os.environ.setdefault("SODAM_MAIL_RETRY_BASE_S", "0.2")
    os.environ.setdefault("SODAM_MAIL_SEND_ATTEMPTS", "3")
    # Likewise a KakaoTalk send: any server's worker may take it (or its retry), so every
    # server retries the dealer alike (a session-scoped server with the default 30 s backoff
    # once took the retry of tests/kakao's send and the test's 30 s wait ran out).
    os.environ.setdefault("SODAM_KAKAO_RETRY_BASE_S", "0.2")
    os.environ.setdefault("SODAM_KAKAO_SEND_ATTEMPTS", "3")
    from sodam.config import get_settings

    get_settings.cache_clear()
    yield url
    if base:
        with psycopg.connect(libpq_url(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    elif owns_embedded:
        stop_embedded(data_dir)
        if not os.environ.get("SODAM_TEST_DATA_DIR"):
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def db(database_url):
    """The app's engine, initialised against the test database."""
    from sodam.db.session import dispose_engine, init_engine

    init_engine(database_url, pool_size=5)
    yield database_url
    await dispose_engine()


class LiveServer:
    def __init__(self, database_url: str, port: int | None = None, extra_env: dict | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "SODAM_DATABASE_URL": database_url,
            "SODAM_SECRET_KEY": TEST_SECRET,
            "SODAM_PORT": str(self.port),
            **(extra_env or {}),
        }
        (ROOT / ".pytest_cache").mkdir(exist_ok=True)
        self.log = open(ROOT / f".pytest_cache/server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "sodam.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # A loaded machine (several test runs at once) starts slowly: SODAM_TEST_SERVER_START_S.
        deadline = time.time() + float(os.environ.get("SODAM_TEST_SERVER_START_S", "90"))
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log.name}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: see {self.log.name}")

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def live_server(database_url):
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)
    server = LiveServer(database_url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_factory(database_url):
    """Start extra server processes against the same database (stopped at the end)."""
    servers: list[LiveServer] = []

    def start(**kw) -> LiveServer:
        server = LiveServer(database_url, **kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass
class WorkspaceFixture:
    workspace_id: int
    slug: str
    agent_id: int
    agent_email: str
    agent_password: str
    inbox_id: int
    inbox_token: str
    api_token: str


@pytest.fixture
async def make_workspace(db):
    """Create an isolated workspace with an admin agent, a widget inbox and an API token."""
    from sodam.accounts import service as accounts
    from sodam.accounts.models import Role
    from sodam.channels import service as inboxes
    from sodam.db.session import session_scope

    async def make(*, allowed_origins: list[str] | None = None, role: Role = Role.admin, **inbox_settings):
        slug = "ws-" + secrets.token_hex(4)
        password = "correct-horse-" + secrets.token_hex(2)
        async with session_scope() as session:
            ws = await accounts.create_workspace(session, name=f"Test {slug}", slug=slug)
            agent = await accounts.create_agent(
                session,
                workspace_id=ws.id,
                email=f"admin@{slug}.test",
                name=f"상담원 {slug}",
                password=password,
                role=role,
            )
            inbox = await inboxes.create(
                session,
                workspace_id=ws.id,
                name="웹 채팅",
                allowed_origins=allowed_origins or [],
                # Routing's auto-assignment and first auto-reply are on in the product; a test
                # inbox is quiet unless the test asks (tests/routing, the routing browser test).
                settings={"auto_assign": False, "auto_reply": False, **inbox_settings},
            )
            _token, raw = await accounts.create_api_token(
                session, workspace_id=ws.id, agent_id=agent.id, name="tests"
            )
            return WorkspaceFixture(
                ws.id, slug, agent.id, agent.email, password, inbox.id, inbox.public_token, raw
            )

    return make
