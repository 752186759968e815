"""`sodam bench messages`: the message path end to end, and the ceiling it is measured against.

What it does, in one run:
1. starts its own embedded PostgreSQL in a temporary data dir (or uses the server of
   SODAM_DATABASE_URL), creates a fresh database, migrates it and seeds one workspace,
   one agent, one widget inbox and an API token through the services;
2. measures the raw single-row INSERT + COMMIT rate of that PostgreSQL (psycopg 3, a
   scratch table; one connection, then sixteen): the ceiling for any lossless path;
3. starts `sodam` as a uvicorn subprocess (`--workers` processes behind one port);
4. opens N widget sockets (one visitor each) and M agent sockets, measures the server's
   RSS, opens the idle widget sockets, measures it again;
5. sends K customer messages across the widget sockets at the target rate (an asyncio
   scheduler; the send time is taken per client_id), records the ack per client_id and
   the receive time per client_id on every agent socket;
6. checks the database: every acknowledged message stored exactly once.

Cores: this machine has 2. The load generator (this process: one event loop, on uvloop
when installed), the server process(es) and PostgreSQL all share those two cores, so
every figure here is "client + server + database on 2 cores"; the generator's own CPU
time is printed so you can see how much of the machine it took.

Output: a table (rich), then as the LAST line one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
import websockets
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bench.common import (
    JOBS,
    RATE_LIMITS,
    RAW_SECONDS,
    SAMPLES,
    WS_COMPRESSION,
    Seed,
    Server,
    bench_database,
    console,
    frames,
    open_many,
    open_widget,
    percentile,
    raise_nofile,
    run_loop,
    seed,
    server_version,
)

WARM_S = 3.0  # "after the first seconds": messages sent this long after the first send or later

# --------------------------------------------------------------------------- the ceiling


def raw_commit_rate(url: str, *, connections: int = 1, seconds: float = RAW_SECONDS) -> float:
    """Single-row INSERT + COMMIT per transaction on a scratch table; commits per second."""
    table = f"bench_scratch_{secrets.token_hex(3)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, body text NOT NULL)")
    counts = [0] * connections
    start_line = threading.Barrier(connections + 1)
    stop_at: list[float] = [0.0]

    def worker(i: int) -> None:
        with psycopg.connect(url) as conn:
            start_line.wait()
            n = 0
            while time.perf_counter() < stop_at[0]:
                conn.execute(f"INSERT INTO {table} (body) VALUES (%s)", (SAMPLES[n % len(SAMPLES)],))  # noqa: S608
                conn.commit()
                n += 1
            counts[i] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 3600
    start_line.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {table}")
    return sum(counts) / elapsed


# --------------------------------------------------------------------------- the load


@dataclass
class Record:
    sent_at: dict[str, float] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    ack_ids: dict[str, int] = field(default_factory=dict)
    errors: dict[str, dict] = field(default_factory=dict)
    # one dict per agent socket: client_id -> first receive time
    received: list[dict[str, float]] = field(default_factory=list)
    duplicate_deliveries: int = 0
    # sockets the server closed before the end of the run: close code -> count
    closed_early: dict[str, int] = field(default_factory=dict)
    all_done: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False


def _note_close(ws, rec: Record) -> None:
    key = f"{ws.close_code}:{ws.close_reason or ''}"
    rec.closed_early[key] = rec.closed_early.get(key, 0) + 1


async def read_widget(ws, rec: Record, expected: int) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in ws:
            now = time.perf_counter()
            for frame in frames(raw):
                kind = frame.get("type")
                if kind == "ack":
                    cid = frame["client_id"]
                    rec.acked_at.setdefault(cid, now)
                    rec.ack_ids[cid] = frame["message"]["id"]
                    _check_done(rec, expected)
                elif kind == "error":
                    rec.errors[frame.get("client_id") or f"?{len(rec.errors)}"] = frame.get("error", {})
                    _check_done(rec, expected)
    if not rec.closing:
        _note_close(ws, rec)


async def read_agent(ws, rec: Record, index: int, expected: int) -> None:
    received = rec.received[index]
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in ws:
            now = time.perf_counter()
            for frame in frames(raw):
                if frame.get("type") != "message":
                    continue
                cid = frame["message"].get("client_id")
                if cid is None or cid not in rec.sent_at:
                    continue
                if cid in received:
                    rec.duplicate_deliveries += 1
                    continue
                received[cid] = now
                _check_done(rec, expected)
    if not rec.closing:
        _note_close(ws, rec)


def _check_done(rec: Record, expected: int) -> None:
    if len(rec.acked_at) + len(rec.errors) >= expected and all(
        len(r) >= len(rec.acked_at) for r in rec.received
    ):
        rec.all_done.set()


async def send_paced(widget_sockets: list, rec: Record, messages: int, rate: float, progress, task) -> float:
    """Send `messages` frames round-robin over the widget sockets at `rate`/s; returns the achieved rate.

    The schedule is absolute (t0 + i/rate): a late tick sends at once, so a slow moment
    does not lower the offered rate, it bunches the sends.
    """
    interval = 1.0 / rate if rate > 0 else 0.0
    t0 = time.perf_counter()
    for i in range(messages):
        due = t0 + i * interval
        delay = due - time.perf_counter()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        ws = widget_sockets[i % len(widget_sockets)]
        cid = uuid.uuid4().hex
        payload = json.dumps(
            {"type": "message", "client_id": cid, "content": f"{SAMPLES[i % len(SAMPLES)]} ({i})"},
            ensure_ascii=False,
        )
        rec.sent_at[cid] = time.perf_counter()
        await ws.send(payload)
        if i % 50 == 49 or i == messages - 1:
            progress.update(task, completed=i + 1)
            if delay <= 0.0005:
                await asyncio.sleep(0)  # let the readers run when we are behind
    return messages / (time.perf_counter() - t0)


async def wait_for_drain(rec: Record, *, stall_s: float = 30.0) -> None:
    """Wait until every send is acked (or refused) and every ack is on every agent socket;
    give up only after `stall_s` without any progress, so a backlog is waited for but a
    message that will never come is not."""
    last, last_change = None, time.perf_counter()
    while not rec.all_done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rec.all_done.wait(), 1.0)
        now = time.perf_counter()
        state = (len(rec.acked_at), len(rec.errors), sum(len(r) for r in rec.received))
        if state != last:
            last, last_change = state, now
        elif now - last_change > stall_s:
            return


async def run_load(
    server: Server,
    seed_: Seed,
    *,
    db_url: str,
    widgets: int,
    agents: int,
    messages: int,
    rate: float,
    idle_sockets: int,
) -> dict:
    rec = Record(received=[{} for _ in range(agents)])
    out: dict = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:
        agent_url = f"{server.ws_url}/api/v1/realtime"

        async def open_agent():
            ws = await websockets.connect(
                agent_url,
                additional_headers={"Authorization": f"Bearer {seed_.api_token}"},
                compression=WS_COMPRESSION,
                ping_interval=None,
                max_queue=None,
            )
            hello = frames(await ws.recv())[0]
            assert hello["type"] == "hello", hello
            return ws

        agent_sockets = await open_many(agents, open_agent, 16)
        widget_sockets = await open_many(widgets, lambda: open_widget(server, client, seed_.inbox_token), 16)
        await asyncio.sleep(0.5)
        rss_before_idle = server.rss_bytes()
        idle: list = []
        if idle_sockets:
            with Progress(
                TextColumn("opening idle widget sockets"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("idle", total=idle_sockets)
                idle = await open_many(
                    idle_sockets,
                    lambda: open_widget(server, client, seed_.inbox_token),
                    32,
                    on_open=lambda: progress.advance(task),
                )
            await asyncio.sleep(1.0)
        rss_after_idle = server.rss_bytes()
        out |= {
            "rss_before_idle": rss_before_idle,
            "rss_after_idle": rss_after_idle,
            "web_rss_after_idle": server.rss_bytes(jobs=False),
        }

        readers = [asyncio.create_task(read_widget(ws, rec, messages)) for ws in widget_sockets]
        readers += [
            asyncio.create_task(read_agent(ws, rec, i, messages)) for i, ws in enumerate(agent_sockets)
        ]
        profiler = start_profiler(server)
        pg_cpu = PgCpu(db_url)
        pg_cpu0 = pg_cpu.seconds()
        wal = WalCounts(db_url)
        wal0 = wal.read()
        sampler = WaitSampler(db_url).__enter__()
        functions = FunctionTimes(db_url)
        server_cpu0 = server.cpu_seconds()
        web_cpu0, jobs_cpu0 = server.cpu_seconds(jobs=False), server.cpu_seconds(jobs=True)
        me = psutil.Process()
        my_cpu0 = sum(me.cpu_times()[:2])
        with Progress(
            TextColumn(f"sending at {rate:g} msg/s"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("send", total=messages)
            t_start, t_start_wall = time.perf_counter(), time.time()
            offered = await send_paced(widget_sockets, rec, messages, rate, progress, task)
            t_sent = time.perf_counter()
        await wait_for_drain(rec)
        t_end = time.perf_counter()
        stop_profiler(profiler)
        sampler.__exit__()
        functions.write()
        pg_cpu1 = pg_cpu.seconds()
        await asyncio.sleep(0.6)  # backends report their I/O counts at most once a second, or when idle
        wal1 = wal.read()
        out |= {
            "commits": wal1[0] - wal0[0] if wal0 and wal1 else None,
            "wal_fsyncs": wal1[1] - wal0[1] if wal0 and wal1 else None,
            "pg_cpu_s": pg_cpu1 - pg_cpu0 if pg_cpu0 is not None and pg_cpu1 is not None else None,
            "offered_rate": offered,
            "send_s": t_sent - t_start,
            "server_cpu_s": server.cpu_seconds() - server_cpu0,
            "web_cpu_s": server.cpu_seconds(jobs=False) - web_cpu0,
            "jobs_cpu_s": server.cpu_seconds(jobs=True) - jobs_cpu0,
            "generator_cpu_s": sum(me.cpu_times()[:2]) - my_cpu0,
            "wall_s": t_end - t_start,
        }
        rss_end = server.rss_bytes()
        rec.closing = True
        for ws in [*widget_sockets, *agent_sockets]:
            await ws.close()
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        # Idle sockets: close without waiting for each handshake (there may be thousands).
        await asyncio.gather(*[ws.close() for ws in idle], return_exceptions=True)
    out |= {"rec": rec, "rss_end": rss_end, "t_start": t_start, "t_start_wall": t_start_wall}
    return out


def start_profiler(server: Server) -> subprocess.Popen | None:
    """SODAM_BENCH_PROFILE=out.txt: py-spy (on PATH or SODAM_BENCH_PYSPY) samples the server
    during the send, collapsed stacks ("--format raw") written to out.txt."""
    out = os.environ.get("SODAM_BENCH_PROFILE")
    if not out:
        return None
    py_spy = os.environ.get("SODAM_BENCH_PYSPY") or shutil.which("py-spy") or "py-spy"
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(server.proc.pid), "--subprocesses", "--nonblocking"]
        + [
            "--rate",
            "250",
            "--format",
            "raw",
            "-o",
            out,
            "--duration",
            os.environ.get("SODAM_BENCH_PROFILE_S", "600"),
        ]
    )


def stop_profiler(profiler: subprocess.Popen | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)


def stored_counts(url: str, inbox_id: int, client_ids: list[str]) -> tuple[set[str], int]:
    """(client_ids stored at least once, extra copies stored) for these client_ids."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT client_id, count(*) FROM messages WHERE inbox_id = %s AND client_id = ANY(%s) "
            "GROUP BY client_id",
            (inbox_id, client_ids),
        ).fetchall()
    return {r[0] for r in rows}, sum(r[1] - 1 for r in rows)


def job_counts(url: str) -> dict[str, dict[str, int]]:
    """task -> status -> jobs, over the whole run (what the reactions cost, and what is left)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT task_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    out: dict[str, dict[str, int]] = {}
    for task, status, n in rows:
        out.setdefault(task, {})[status] = n
    return out


class PgCpu:
    """CPU seconds of the PostgreSQL server's processes (same host): the postmaster, its live
    children, and the children that exited (their time is in the postmaster's children_*)."""

    def __init__(self, url: str) -> None:
        try:
            with psycopg.connect(url) as conn:
                pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            self.postmaster = psutil.Process(pid).parent()
        except (psutil.Error, psycopg.Error):
            self.postmaster = None

    def seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        try:
            t = self.postmaster.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            children = []
            for _ in range(3):  # a backend may exit while the list is read
                with contextlib.suppress(psutil.Error):
                    children = self.postmaster.children()
                    break
            for child in children:
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += c.user + c.system
            return total
        except psutil.Error:
            return None


class WalCounts:
    """Commits in the bench's database and WAL flushes (fsyncs) of the whole server: every
    synchronous commit that finds its WAL unflushed waits for one, so the jobs' commits can
    queue the message path's behind theirs. pg_stat_io (PostgreSQL 18) or pg_stat_wal (14-17)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def read(self) -> tuple[int, int] | None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                commits = conn.execute(
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                ).fetchone()[0]
                if conn.info.server_version >= 180000:
                    syncs = conn.execute(
                        "SELECT sum(fsyncs) FROM pg_stat_io WHERE object = 'wal'"
                    ).fetchone()[0]
                else:
                    syncs = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0]
                return int(commits), int(syncs or 0)
        except psycopg.Error:
            return None


_BLOCKERS_SQL = (
    "WITH w AS (SELECT unnest(pg_blocking_pids(pid)) AS blocker FROM pg_stat_activity"
    " WHERE backend_type = 'client backend' AND wait_event_type = 'Lock')"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = b.pid AND l.locktype = 'advisory'"
    " AND l.classid = 7301) THEN 'routing: ' ELSE '' END || b.state,"
    " left(regexp_replace(b.query, '\\s+', ' ', 'g'), 60), count(*),"
    " 1000 * extract(epoch FROM now() - b.xact_start),"
    " CASE WHEN b.state = 'idle in transaction' THEN 1000 * extract(epoch FROM now() - b.state_change) ELSE 0 END"
    " FROM w JOIN pg_stat_activity b ON b.pid = w.blocker"
    " GROUP BY b.pid, b.state, b.query, b.xact_start, b.state_change"
)


# Routing's transactions (they hold its per-workspace advisory lock, class 7301) whether or
# not anyone waits for them: state, last statement, transaction age and idle time (ms).
_ROUTING_SQL = (
    "SELECT b.state, left(regexp_replace(b.query, '\\s+', ' ', 'g'), 60), 0,"
    " 1000 * extract(epoch FROM now() - b.xact_start),"
    " CASE WHEN b.state = 'idle in transaction' THEN 1000 * extract(epoch FROM now() - b.state_change) ELSE 0 END"
    " FROM pg_stat_activity b WHERE b.pid IN (SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory'"
    " AND l.classid = 7301 AND l.granted) AND b.pid <> pg_backend_pid()"
)


class FunctionTimes:
    """SODAM_BENCH_PGFUNCS=out.txt: PostgreSQL's own time in each PL/pgSQL function (triggers
    too) during the send — pg_stat_user_functions with track_functions = 'pl', switched on for
    the whole server (ALTER SYSTEM, then a reload reaches the open connections) — written as
    calls, self ms, total ms, self µs a call, sorted by self time."""

    def __init__(self, url: str) -> None:
        self.out = os.environ.get("SODAM_BENCH_PGFUNCS")
        self.url = url
        self.before: dict[str, tuple[int, float, float]] = {}
        if self.out:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ALTER SYSTEM SET track_functions = 'pl'")
                conn.execute("SELECT pg_reload_conf()")
            time.sleep(0.5)
            self.before = self._read()

    def _read(self) -> dict[str, tuple[int, float, float]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            rows = conn.execute("SELECT funcname, calls, self_time, total_time FROM pg_stat_user_functions")
            return {r[0]: (r[1], r[2], r[3]) for r in rows.fetchall()}

    def write(self) -> None:
        if not self.out:
            return
        time.sleep(1.5)  # backends report their counts at most once a second
        after = self._read()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET track_functions")
            conn.execute("SELECT pg_reload_conf()")
        rows = []
        for name, (calls, self_ms, total_ms) in after.items():
            c0, s0, t0 = self.before.get(name, (0, 0.0, 0.0))
            if calls - c0:
                rows.append((name, calls - c0, self_ms - s0, total_ms - t0))
        with open(self.out, "w") as f:
            f.write("# function\tcalls\tself ms\ttotal ms\tself us/call\n")
            for name, calls, self_ms, total_ms in sorted(rows, key=lambda r: -r[2]):
                f.write(f"{name}\t{calls}\t{self_ms:.1f}\t{total_ms:.1f}\t{1000 * self_ms / calls:.1f}\n")


class WaitSampler:
    """SODAM_BENCH_PGWAITS=out.txt: samples pg_stat_activity every 0.1 s during the send and
    writes (count, state, wait event, who blocks, the query's start) sorted by count."""

    def __init__(self, url: str) -> None:
        self.out = os.environ.get("SODAM_BENCH_PGWAITS")
        self.url = url
        self.counts: dict[tuple, int] = {}
        self.samples = 0
        self.blockers: dict[tuple, list[tuple[int, float, float]]] = {}
        self.routing: dict[tuple, list[tuple[int, float, float]]] = {}
        # Per sample: seconds since the first, and each non-idle backend's (state, wait, query)
        # — where in the run the waits are (written to out.txt.timeline).
        self.timeline: list[tuple[float, list[tuple]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True) if self.out else None

    def __enter__(self) -> WaitSampler:
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if not self._thread:
            return
        self._stop.set()
        self._thread.join(5)
        with open(self.out, "w") as f:
            f.write(f"# {self.samples} samples of pg_stat_activity, 0.1 s apart\n")
            for key, n in sorted(self.counts.items(), key=lambda kv: -kv[1]):
                f.write(f"{n}\t" + "\t".join(str(k) for k in key) + "\n")
            f.write(
                "# blockers (a backend some other waits for): samples, waiters summed, state, last"
                " statement, transaction age p50/max ms, idle-in-transaction p50/max ms\n"
            )
            _write_holders(f, self.blockers)
            f.write("# routing's transactions (holding its advisory lock): the same columns\n")
            _write_holders(f, self.routing)
        with open(self.out + ".timeline", "w") as f:
            for at, rows in self.timeline:
                for row in rows:
                    f.write(f"{at:.2f}\t" + "\t".join(str(k) for k in row) + "\n")

    def _run(self) -> None:
        started = time.monotonic()
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.1):
                rows = conn.execute(
                    "SELECT a.state, coalesce(a.wait_event_type || ':' || a.wait_event, 'CPU'),"
                    " left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60),"
                    " (SELECT 'blocked by: ' || b.state || ' ' || left(regexp_replace(b.query, '\\s+', ' ', 'g'), 60)"
                    "   FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(a.pid))[1])"
                    " FROM pg_stat_activity a WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()"
                    " AND a.state <> 'idle'"
                ).fetchall()
                self.samples += 1
                # WAL and commits so far, to see what each stretch of the run wrote.
                wal = conn.execute(
                    "SELECT 'wal', w.wal_records, w.wal_fpi, w.wal_bytes, d.xact_commit"
                    " FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()"
                ).fetchone()
                self.timeline.append((time.monotonic() - started, [*rows, tuple(wal)]))
                for row in rows:
                    self.counts[tuple(row)] = self.counts.get(tuple(row), 0) + 1
                # Who holds rows others wait for: each blocker's state, last statement, and
                # how long its transaction has been open and idle (ms) at the sample.
                for row in conn.execute(_BLOCKERS_SQL).fetchall():
                    self.blockers.setdefault(tuple(row[:2]), []).append((row[2], row[3], row[4]))
                for row in conn.execute(_ROUTING_SQL).fetchall():
                    self.routing.setdefault(tuple(row[:2]), []).append((row[2], row[3], row[4]))


def _write_holders(f, seen_by_key: dict[tuple, list[tuple[int, float, float]]]) -> None:
    for key, seen in sorted(seen_by_key.items(), key=lambda kv: -len(kv[1])):
        ages = sorted(a for _, a, _ in seen)
        idles = sorted(i for _, _, i in seen)
        f.write(
            f"{len(seen)}\t{sum(w for w, _, _ in seen)}\t{key[0]}\t{key[1]}\t"
            f"{ages[len(ages) // 2]:.0f}/{ages[-1]:.0f}\t{idles[len(idles) // 2]:.0f}/{idles[-1]:.0f}\n"
        )


# Each job that ran to an end: `s.at` its (last) start, `f.at` its end (procrastinate_events).
_JOB_SPANS = (
    " FROM procrastinate_jobs j"
    " JOIN LATERAL (SELECT max(at) AS at FROM procrastinate_events WHERE job_id = j.id AND type = 'started') s ON true"
    " JOIN LATERAL (SELECT max(at) AS at FROM procrastinate_events WHERE job_id = j.id"
    "   AND type IN ('succeeded', 'failed', 'cancelled', 'aborted')) f ON true"
    " WHERE s.at IS NOT NULL AND f.at IS NOT NULL"
)


def job_seconds(url: str) -> dict[str, dict[str, float]]:
    """task -> runs, total and max seconds from started to finished (procrastinate_events)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT j.task_name, count(*), sum(extract(epoch FROM f.at - s.at)), max(extract(epoch FROM f.at - s.at))"
            + _JOB_SPANS
            + " GROUP BY 1 ORDER BY 3 DESC"
        ).fetchall()
    return {
        t: {"runs": n, "total_s": round(float(tot), 2), "max_s": round(float(mx), 3)}
        for t, n, tot, mx in rows
    }


def write_job_log(url: str, path: str, t_start_wall: float) -> None:
    """SODAM_BENCH_JOBLOG=out.txt: "task<TAB>started<TAB>finished" per job, in seconds since the
    first send, to set beside SODAM_BENCH_LATENCIES (which job ran while the tail formed)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT j.task_name, extract(epoch FROM s.at), extract(epoch FROM f.at)"
            + _JOB_SPANS
            + " ORDER BY 2"
        ).fetchall()
    with open(path, "w") as out:
        out.write(f"# send started at {t_start_wall:.3f} (epoch s)\n")
        for task, started, finished in rows:
            out.write(f"{task}\t{float(started) - t_start_wall:.3f}\t{float(finished) - t_start_wall:.3f}\n")


# --------------------------------------------------------------------------- report


def main(
    *,
    widgets: int = 50,
    agents: int = 5,
    messages: int = 5000,
    rate: float = 500.0,
    idle_sockets: int = 0,
    workers: int = 1,
) -> dict:
    from sodam.db.migrate import upgrade

    if widgets < 1 or agents < 1 or messages < 1:
        raise SystemExit("widgets, agents and messages must be at least 1")
    nofile = raise_nofile()
    needed = 2 * (widgets + agents + idle_sockets) + 200
    if nofile < needed:
        console.print(f"[yellow]warning:[/yellow] open-files limit {nofile} < {needed} needed")
    log_dir = Path(tempfile.gettempdir())
    with bench_database() as (url, db_kind):
        with console.status("migrating and seeding"):
            upgrade(url)
            seed_ = asyncio.run(seed(url))
        with console.status("measuring raw INSERT+COMMIT rate"):
            raw1 = raw_commit_rate(url, connections=1)
            raw16 = raw_commit_rate(url, connections=16)
        pg_version = server_version(url)
        with console.status(f"starting the server ({workers} worker(s))"):
            server = Server(url, workers, log_dir / f"sodam-bench-server-{os.getpid()}.log")
        try:
            load, loop_name = run_loop(
                run_load(
                    server,
                    seed_,
                    db_url=url,
                    widgets=widgets,
                    agents=agents,
                    messages=messages,
                    rate=rate,
                    idle_sockets=idle_sockets,
                )
            )
        finally:
            server.stop()
        rec: Record = load["rec"]
        acked = list(rec.acked_at)
        stored, duplicates = stored_counts(url, seed_.inbox_id, list(rec.sent_at))
        jobs_by_task = job_counts(url)
        job_time = job_seconds(url)
        if dump := os.environ.get("SODAM_BENCH_JOBLOG"):
            write_job_log(url, dump, load["t_start_wall"])

    # lost: acknowledged, but missing from some agent socket or from the database.
    lost_ids = {cid for cid in acked if cid not in stored or any(cid not in r for r in rec.received)}
    unacked_ids = [cid for cid in rec.sent_at if cid not in rec.acked_at and cid not in rec.errors]
    unacked = len(unacked_ids)
    unacked_stored = sum(1 for cid in unacked_ids if cid in stored)
    first = rec.received[0]
    lat_first = [(first[cid] - rec.sent_at[cid]) * 1000 for cid in acked if cid in first]
    # The same after the first WARM_S seconds of the send: the first seconds carry every
    # widget's first message (a new conversation, the bot's first decision, routing), and
    # the tail has been there run after run (bench/README.md, session 18).
    warm_from = load["t_start"] + WARM_S
    lat_warm = [
        (first[cid] - rec.sent_at[cid]) * 1000
        for cid in acked
        if cid in first and rec.sent_at[cid] >= warm_from
    ]
    if dump := os.environ.get("SODAM_BENCH_LATENCIES"):
        # "seconds since the first send<TAB>latency ms" per message: where in the run the tail is.
        with open(dump, "w") as out:
            for cid in sorted((c for c in acked if c in first), key=rec.sent_at.__getitem__):
                t, ms = rec.sent_at[cid] - load["t_start"], (first[cid] - rec.sent_at[cid]) * 1000
                out.write(f"{t:.3f}\t{ms:.1f}\n")
    lat_all = [(r[cid] - rec.sent_at[cid]) * 1000 for r in rec.received for cid in acked if cid in r]
    ack_lat = [(rec.acked_at[cid] - rec.sent_at[cid]) * 1000 for cid in acked]
    # Throughput: messages delivered to the first agent socket per second, from the first
    # send to the last delivery (so a backlog that drains after the last send counts).
    last = max(first.values(), default=load["t_start"])
    span = max(last - load["t_start"], 1e-9)
    msgs_per_s = len(lat_first) / span
    mib = 1024 * 1024
    per_socket_kib = (
        (load["rss_after_idle"] - load["rss_before_idle"]) / idle_sockets / 1024 if idle_sockets else None
    )

    table = Table(title="sodam bench messages", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")
    rows = [
        ("PostgreSQL", f"{pg_version} ({db_kind})", "same server for the ceiling and the run"),
        ("raw INSERT+COMMIT, 1 conn", f"{raw1:,.0f}/s", "the ceiling (psycopg 3, scratch table)"),
        ("raw INSERT+COMMIT, 16 conns", f"{raw16:,.0f}/s", ""),
        ("sockets", f"{widgets} widget, {agents} agent, {idle_sockets} idle", f"server workers: {workers}; jobs: {JOBS}"),
        ("target rate", f"{rate:g} msg/s", f"offered {load['offered_rate']:,.0f} msg/s"),
        ("throughput", f"{msgs_per_s:,.0f} msg/s", "first send -> last delivery on agent socket 0"),
        ("ratio to raw (1 conn)", f"{msgs_per_s / raw1:.2f}", "target >= 0.5"),
        ("latency p50 / p95 / p99", _ms3(lat_first), "send -> agent socket 0; target p99 < 50 ms"),
        ("latency p99 after the first seconds", f"{percentile(lat_warm, 0.99):.1f} ms", f"messages sent {WARM_S:g} s or more after the first ({len(lat_warm)})"),
        ("latency p99, all agent sockets", f"{percentile(lat_all, 0.99):.1f} ms", f"max {max(lat_all, default=0):.1f} ms"),
        ("ack latency p50 / p99", f"{percentile(ack_lat, 0.5):.1f} / {percentile(ack_lat, 0.99):.1f} ms", "send -> ack (after commit)"),
        ("acked / errors / unacked", f"{len(acked)} / {len(rec.errors)} / {unacked}", f"unacked but stored: {unacked_stored}; {_errors(rec.errors)}"),
        ("sockets closed by the server", str(sum(rec.closed_early.values())), ", ".join(f"{k}: {v}" for k, v in rec.closed_early.items())),
        ("lost", str(len(lost_ids)), "acked but not on every agent socket or not stored; must be 0"),
        ("duplicates stored", str(duplicates), f"duplicate deliveries on sockets: {rec.duplicate_deliveries}"),
        ("server RSS", f"{load['rss_before_idle'] / mib:,.0f} -> {load['rss_after_idle'] / mib:,.0f} MiB", f"after the run {load['rss_end'] / mib:,.0f} MiB (incl. worker children)"),
        ("per idle socket", f"{per_socket_kib:,.1f} KiB" if per_socket_kib is not None else "-", "target: 5,000 idle under 1 GiB"),
        ("jobs by task", str(sum(sum(v.values()) for v in jobs_by_task.values())), _jobs(jobs_by_task)),
        ("commits / WAL fsyncs", f"{load['commits']} / {load['wal_fsyncs']}", "during the send, the bench's database / the whole server"),
        ("CPU during the send", f"server {load['server_cpu_s']:.1f} s (web {load['web_cpu_s']:.1f}, jobs {load['jobs_cpu_s']:.1f}), PostgreSQL {load['pg_cpu_s'] or 0:.1f} s, generator {load['generator_cpu_s']:.1f} s", f"wall {load['wall_s']:.1f} s on {os.cpu_count()} cores; loop {loop_name}"),
    ]  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console.print(table)
    result = {
        "msgs_per_s": round(msgs_per_s, 1),
        "raw_commits_per_s": round(raw1, 1),
        "raw_commits_per_s_16": round(raw16, 1),
        "ratio": round(msgs_per_s / raw1, 3),
        "p50_ms": round(percentile(lat_first, 0.50), 2),
        "p95_ms": round(percentile(lat_first, 0.95), 2),
        "p99_ms": round(percentile(lat_first, 0.99), 2),
        "p99_all_agents_ms": round(percentile(lat_all, 0.99), 2),
        "p99_after_first_seconds_ms": round(percentile(lat_warm, 0.99), 2) if lat_warm else None,
        "acked": len(acked),
        "errors": len(rec.errors),
        "unacked": unacked,
        "unacked_stored": unacked_stored,
        "sockets_closed_by_server": sum(rec.closed_early.values()),
        "lost": len(lost_ids),
        "duplicates": duplicates,
        "widgets": widgets,
        "agents": agents,
        "idle_sockets": idle_sockets,
        "workers": workers,
        "jobs": JOBS,
        "rate_limits": RATE_LIMITS,
        "server_rss_mib": round(load["rss_after_idle"] / mib, 1),
        "web_rss_mib": round(load["web_rss_after_idle"] / mib, 1),
        "server_rss_before_idle_mib": round(load["rss_before_idle"] / mib, 1),
        "per_idle_socket_kib": round(per_socket_kib, 1) if per_socket_kib is not None else None,
        "target_rate": rate,
        "offered_rate": round(load["offered_rate"], 1),
        "server_cpu_s": round(load["server_cpu_s"], 2),
        "web_cpu_s": round(load["web_cpu_s"], 2),
        "jobs_cpu_s": round(load["jobs_cpu_s"], 2),
        "generator_cpu_s": round(load["generator_cpu_s"], 2),
        "jobs_by_task": jobs_by_task,
        "pg_cpu_s": round(load["pg_cpu_s"], 2) if load["pg_cpu_s"] is not None else None,
        "job_seconds_by_task": job_time,
        "commits": load["commits"],
        "wal_fsyncs": load["wal_fsyncs"],
    }
    print(json.dumps(result), flush=True)
    return result


def _ms3(values: list[float]) -> str:
    return " / ".join(f"{percentile(values, q):.1f}" for q in (0.5, 0.95, 0.99)) + " ms"


def _jobs(jobs_by_task: dict[str, dict[str, int]]) -> str:
    return "; ".join(
        f"{task.rsplit('.', 1)[-1]} " + ", ".join(f"{k} {v}" for k, v in statuses.items())
        for task, statuses in jobs_by_task.items()
    )


def _errors(errors: dict[str, dict]) -> str:
    codes: dict[str, int] = {}
    for e in errors.values():
        codes[e.get("code", "?")] = codes.get(e.get("code", "?"), 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in codes.items())
