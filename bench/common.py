"""Pieces the benchmarks share: a private database, the seeded workspace, the server
under uvicorn, the widget and agent socket protocol, percentiles, the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg
import websockets
from rich.console import Console

# A report, not a terminal UI: wide enough for the table even when piped to a file.
console = Console(width=None if sys.stdout.isatty() else 140)

# Korean and English customer messages of realistic length.
SAMPLES = [
    "안녕하세요, 주문한 상품이 아직 도착하지 않았어요. 배송 조회 부탁드립니다.",
    "환불 신청은 어디에서 할 수 있나요?",
    "Hi, I was charged twice for order #48213, can you check?",
    "쿠폰 코드가 적용되지 않습니다. 결제 페이지에서 오류가 나요.",
    "교환하려면 상품을 어디로 보내야 하나요?",
    "Is the store open on public holidays?",
]

# uvicorn's own setting for `sodam serve` (cli.py): keep the bench server the same.
WS_MAX_SIZE = 256 * 1024
# Browsers offer permessage-deflate; `sodam serve` declines it (it doubled the memory of
# every idle socket), and so does the bench server.
WS_COMPRESSION = os.environ.get("SODAM_BENCH_WS_COMPRESSION", "deflate") or None
RAW_SECONDS = 3.0
JOBS = os.environ.get("SODAM_BENCH_JOBS", "off")
RATE_LIMITS = os.environ.get("SODAM_BENCH_RATE_LIMITS", "on")

# --------------------------------------------------------------------------- setup


def raise_nofile() -> int:
    """Lift the soft open-files limit to the hard one (children, the server included, inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class BenchDatabase:
    url: str
    kind: str  # "embedded" or "SODAM_DATABASE_URL"
    data_dir: Path | None  # the embedded server's (None on SODAM_DATABASE_URL's server)


@contextlib.contextmanager
def private_database():
    """A fresh database: on SODAM_DATABASE_URL's server, else on a private embedded PostgreSQL."""
    from sqlalchemy.engine import make_url

    from sodam.db.embedded import ensure_database, start_embedded, stop_embedded
    from sodam.db.session import libpq_url

    name = f"sodam_bench_{secrets.token_hex(4)}"
    base = os.environ.get("SODAM_DATABASE_URL")
    if base:
        admin = libpq_url(base)
        ensure_database(admin, name)
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        try:
            yield BenchDatabase(url, "SODAM_DATABASE_URL", None)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    data_dir = Path(tempfile.mkdtemp(prefix="sodam-bench-"))
    data_dir.chmod(0o755)  # the embedded server may run as its own user when we are root
    try:
        yield BenchDatabase(start_embedded(data_dir, database=name), "embedded", data_dir)
    finally:
        try:
            stop_embedded(data_dir)
        except Exception as exc:  # say so (and keep the dir): a server left running holds memory
            console.print(
                f"[yellow]warning:[/yellow] could not stop the bench PostgreSQL: {exc}; "
                f"stop it with pg_ctl -D {data_dir}/pgdata stop"
            )
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def bench_database():
    """(url, kind) of a fresh database (see private_database)."""
    with private_database() as db:
        yield db.url, db.kind


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]


@dataclass
class Seed:
    inbox_token: str
    inbox_id: int
    api_token: str


async def seed(url: str) -> Seed:
    """One workspace, one admin agent, one widget inbox, one API token: through the services."""
    from sodam.accounts import service as accounts
    from sodam.accounts.models import Role
    from sodam.channels import service as inboxes
    from sodam.db.session import dispose_engine, init_engine, session_scope

    init_engine(url, pool_size=1)
    try:
        async with session_scope() as session:
            ws = await accounts.create_workspace(session, name="Bench 벤치", slug="bench")
            agent = await accounts.create_agent(
                session,
                workspace_id=ws.id,
                email="agent@bench.test",
                name="상담원 벤치",
                password="bench-" + secrets.token_hex(8),
                role=Role.admin,
            )
            # With jobs run in the server, a bot inbox as most teams run one: every customer
            # message gets its sentiment scored and the bot's decision (an empty knowledge
            # base: it hands off at the first message).
            inbox = await inboxes.create(
                session,
                workspace_id=ws.id,
                name="웹 채팅",
                settings={
                    "bot_enabled": os.environ.get("SODAM_BENCH_BOT", "on") == "on",
                    "lead_capture": "off",
                }
                if JOBS == "inprocess"
                else None,
            )
            _token, raw = await accounts.create_api_token(
                session, workspace_id=ws.id, agent_id=agent.id, name="bench"
            )
            return Seed(inbox.public_token, inbox.id, raw)
    finally:
        await dispose_engine()


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChildProcess:
    """A child process (`self.proc`) writing to a log (`self.log`) that a benchmark stops or crashes."""

    def kill(self) -> None:
        """kill -9, as a crash: no shutdown code runs."""
        self.proc.kill()
        self.proc.wait(15)
        self.log.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Server(ChildProcess):
    """`sodam` under uvicorn, as `sodam serve` runs it, on a free port."""

    def __init__(
        self,
        url: str,
        workers: int,
        log_path: Path,
        *,
        port: int | None = None,
        secret_key: str | None = None,
        env: dict[str, str] | None = None,
        settle: bool = True,
    ):
        """`port`, `secret_key`: a restart comes back where its clients look for it and
        reads the visitor tokens it signed before; `env` adds to or overrides the settings."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "SODAM_DATABASE_URL": url,
            "SODAM_SECRET_KEY": secret_key or secrets.token_urlsafe(32),
            "SODAM_PORT": str(self.port),
            "SODAM_LOG_LEVEL": "warning",
            # The reactions to a customer message (sentiment, bot reply) are jobs deferred in
            # its transaction; by default they are not *run* by the web process here (scale-out
            # runs them in `sodam worker`), so the figures are the message path's own.
            # SODAM_BENCH_JOBS=inprocess runs them in the server, as a single-node install does.
            "SODAM_RUN_WORKER": "true" if JOBS == "inprocess" else "false",
            # One address sends for every visitor, each far faster than a person types: the
            # limits stay on (every message pays for its visitor + IP check) but high enough
            # never to refuse. SODAM_BENCH_RATE_LIMITS=off turns the checks off (A/B).
            "SODAM_RATE_LIMITS_ENABLED": "false" if RATE_LIMITS == "off" else "true",
            "SODAM_RATE_LIMIT_WIDGET_SESSION_IP": "1000000/minute",
            "SODAM_RATE_LIMIT_WIDGET_SESSION_INBOX": "1000000/minute",
            "SODAM_RATE_LIMIT_WIDGET_MESSAGE_VISITOR": "1000000/minute",
            "SODAM_RATE_LIMIT_WIDGET_MESSAGE_IP": "1000000/minute",
            "SODAM_RATE_LIMIT_API_TOKEN": "1000000/minute",
            **(env or {}),
        }
        self.log = open(log_path, "a")  # noqa: SIM115 - closed in stop()
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
                "--workers",
                str(workers),
                "--ws-max-size",
                str(WS_MAX_SIZE),
                "--ws-per-message-deflate",
                "false",  # as `sodam serve` runs (cli.py)
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {log_path}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        if workers > 1:  # let every worker come up (each one answers /healthz when ready)
            time.sleep(1.0 + 0.5 * workers)
        if settle:
            self.wait_until_settled()

    def wait_until_settled(self, *, timeout: float = 90.0) -> None:
        """Start-up work (e.g. language models warmed up in a thread) must be over before the
        memory baseline is taken: wait until RSS and CPU stop moving."""
        deadline = time.time() + timeout
        last_rss, last_cpu, steady = self.rss_bytes(), self.cpu_seconds(), 0
        while time.time() < deadline and steady < 3:
            time.sleep(1.0)
            rss, cpu = self.rss_bytes(), self.cpu_seconds()
            steady = steady + 1 if abs(rss - last_rss) < 2 * 1024 * 1024 and cpu - last_cpu < 0.1 else 0
            last_rss, last_cpu = rss, cpu

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def _of(self, jobs: bool | None) -> list[psutil.Process]:
        """Every process (None), the web processes (False) or the job workers `sodam serve`
        starts beside them (True)."""
        if jobs is None:
            return self.processes()
        out = []
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                if _is_job_worker(p.cmdline()) == jobs:
                    out.append(p)
        return out

    def rss_bytes(self, *, jobs: bool | None = None) -> int:
        total = 0
        for p in self._of(jobs):
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def cpu_seconds(self, *, jobs: bool | None = None) -> float:
        total = 0.0
        for p in self._of(jobs):
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total


def _is_job_worker(cmdline: list[str]) -> bool:
    return "sodam" in cmdline and "worker" in cmdline


async def new_visitor(client: httpx.AsyncClient, inbox_token: str) -> str:
    r = await client.post(f"/widget/v1/{inbox_token}/session", json={"locale": "ko"})
    r.raise_for_status()
    return r.json()["visitor_token"]


async def open_widget(server: Server, client: httpx.AsyncClient, inbox_token: str):
    token = await new_visitor(client, inbox_token)
    r = await client.post(f"/widget/v1/{inbox_token}/socket-ticket", headers={"X-Sodam-Visitor": token})
    r.raise_for_status()
    ws = await websockets.connect(
        f"{server.ws_url}/widget/v1/{inbox_token}/ws?ticket={r.json()['ticket']}",
        compression=WS_COMPRESSION,
        ping_interval=None,  # browsers do not ping; the server's pings are still answered
        max_queue=None,
        open_timeout=60,
    )
    hello = frames(await ws.recv())[0]
    assert hello["type"] == "hello", hello
    return ws


def frames(raw: str | bytes) -> list[dict]:
    """A socket message is one frame, or an array of frames the server sent together."""
    data = json.loads(raw)
    return data if isinstance(data, list) else [data]


async def open_many(n: int, opener, concurrency: int, on_open=None) -> list:
    sem = asyncio.Semaphore(concurrency)

    async def one():
        async with sem:
            ws = await opener()
            if on_open:
                on_open()
            return ws

    return await asyncio.gather(*[one() for _ in range(n)])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[min(998, int(q * 1000) - 1)]


def run_loop(coro):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro), "asyncio"
    return uvloop.run(coro), "uvloop"
