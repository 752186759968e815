"""`sodam bench routing`: routing decisions under load, and how good the wait estimates are.

Part 1 — a private database with 500 agents (mixed skills and capacities, all online) and
10,000 conversations waiting (mixed requirements: language, topic with a minimum level,
VIP); two router processes run `routing.engine.dispatch` for the same workspace at once
while a third process resolves assigned conversations (freeing places), for --seconds.
Reported: `decision_p99_ms` (choosing the agent and writing the assignment, per
conversation), the p99 of a whole dispatch pass, `over_capacity` (agents above their
capacity at the end) and `double_assigned` (conversations assigned more than once) — both
must be 0. The conversations' requirements are written with them (what routing would have
derived from language, rules and tier), so the figure is routing's, not text analysis'.

Part 2 — a simulated day (no database): Poisson arrivals following a daily curve, agents
on shifts with capacity 2, log-normal handle times; FIFO routing. Every wait estimate a
customer is shown (on arrival and whenever their place changes) comes from the function
the widget uses (`routing.queue.estimate_seconds`, with the mean of the last 200 handle
times), and is compared with the wait that followed: `wait_mae_s`, and `wait_mae_ratio`
(mean absolute error ÷ mean actual wait).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import math
import multiprocessing as mp
import random
import statistics
import time
from collections import deque

import psycopg

from bench.common import console, private_database, server_version

TOPICS = ("shipping", "refund", "billing", "account", "product")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# --------------------------------------------------------------------------- part 1


def _seed(url: str, agents: int, queued: int, seed: int) -> tuple[int, dict[int, int]]:
    """Workspace, inbox, agents (states, skills), contacts and waiting conversations, by SQL."""
    rnd = random.Random(seed)
    capacities: dict[int, int] = {}
    with psycopg.connect(url) as conn:
        ws = conn.execute(
            "INSERT INTO workspaces (name, slug, default_locale, rate_limits, security, attachment_policy)"
            " VALUES ('Routing bench', 'routing-bench', 'ko', '{}', '{}', '{}') RETURNING id"
        ).fetchone()[0]
        inbox = conn.execute(
            "INSERT INTO inboxes (workspace_id, name, channel_type, public_token, allowed_origins, settings)"
            " VALUES (%s, 'bench', 'web_widget', 'bench-routing', '{}',"
            ' \'{"auto_reply": false, "no_answer_seconds": 0}\') RETURNING id',
            (ws,),
        ).fetchone()[0]
        for i in range(agents):
            agent = conn.execute(
                "INSERT INTO agents (workspace_id, email, name, password_hash, role, locale, is_active,"
                " session_version) VALUES (%s, %s, %s, 'x', 'agent', 'ko', true, 1) RETURNING id",
                (ws, f"agent{i}@routing.bench", f"상담원 {i}"),
            ).fetchone()[0]
            capacity = rnd.choice((1, 2, 3, 3, 4, 5))
            capacities[agent] = capacity
            conn.execute(
                "INSERT INTO agent_states (agent_id, workspace_id, availability, capacity)"
                " VALUES (%s, %s, 'online', %s)",
                (agent, ws, json.dumps({"default": capacity})),
            )
            skills = {}
            if rnd.random() < 0.9:
                skills["lang:ko"] = rnd.randint(2, 5)
            if rnd.random() < 0.3 or not skills:
                skills["lang:en"] = rnd.randint(2, 5)
            for topic in rnd.sample(TOPICS, rnd.randint(1, 3)):
                skills[f"topic:{topic}"] = rnd.randint(1, 5)
            if rnd.random() < 0.1:
                skills["vip"] = rnd.randint(3, 5)
            for skill, level in skills.items():
                conn.execute(
                    "INSERT INTO agent_skills (agent_id, workspace_id, skill, level) VALUES (%s, %s, %s, %s)",
                    (agent, ws, skill, level),
                )
        contacts = [
            r[0]
            for r in conn.execute(
                "INSERT INTO contacts (workspace_id, name, custom_attributes) SELECT %s, '고객 ' || g, '{}'"
                " FROM generate_series(1, %s) g RETURNING id",
                (ws, queued),
            )
        ]
        rows = []
        for n, contact in enumerate(contacts):
            need: dict[str, int] = {"lang:ko" if rnd.random() < 0.8 else "lang:en": 1}
            if rnd.random() < 0.5:
                need[f"topic:{rnd.choice(TOPICS)}"] = rnd.randint(1, 3)
            vip = rnd.random() < 0.05
            if vip:
                need["vip"] = 1
            route = {"skills": need, "team_id": None, "vip": vip, "sources": {}, "dropped": []}
            rows.append((ws, inbox, contact, json.dumps(route), 10 if vip else 0, n))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO conversations (workspace_id, inbox_id, contact_id, status, priority, tags, last_seq,"
                " route, queue_rank, queued_at, updated_at)"
                " VALUES (%s, %s, %s, 'open', 'none', '{}', 0, %s::jsonb, %s,"
                " now() - interval '1 hour' + %s * interval '1 ms', now())",
                rows,
            )
        # Routing jobs the inserts deferred: nobody runs them here (the routers are the bench's).
        conn.execute("DELETE FROM procrastinate_jobs")
        conn.commit()
    return ws, capacities


def _router(url: str, workspace_id: int, seconds: float, out: mp.Queue, ready, go) -> None:
    async def run() -> None:
        from sodam.db.session import dispose_engine, init_engine, session_scope
        from sodam.routing import engine

        init_engine(url, pool_size=2)
        ready.release()
        go.wait()
        decided: list[float] = []
        passes: list[float] = []
        assigned = 0
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with session_scope() as session:
                    decisions = await engine.dispatch(session, workspace_id=workspace_id)
                    await session.commit()
                if decisions:
                    passes.append((time.perf_counter() - started) * 1000)
                    decided += [d.decided_ms for d in decisions]
                    assigned += len(decisions)
                else:
                    await asyncio.sleep(0.005)
        finally:
            await dispose_engine()
        out.put({"decided": decided, "passes": passes, "assigned": assigned})

    asyncio.run(run())


def _resolver(url: str, workspace_id: int, seconds: float, rate: float, out: mp.Queue, ready, go) -> None:
    """Resolve random assigned conversations at `rate` per second (places free up)."""
    resolved = 0
    with psycopg.connect(url, autocommit=True) as conn:
        ready.release()
        go.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            row = conn.execute(
                "UPDATE conversations SET status = 'resolved' WHERE id = (SELECT id FROM conversations"
                " WHERE workspace_id = %s AND status = 'open' AND assignee_id IS NOT NULL"
                " ORDER BY random() LIMIT 1) RETURNING id",
                (workspace_id,),
            ).fetchone()
            resolved += int(row is not None)
            time.sleep(1.0 / rate)
    out.put({"resolved": resolved})


def _checks(url: str, workspace_id: int, capacities: dict[int, int]) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        loads = dict(
            conn.execute(
                "SELECT assignee_id, count(*) FROM conversations WHERE workspace_id = %s AND status = 'open'"
                " AND assignee_id IS NOT NULL GROUP BY 1",
                (workspace_id,),
            ).fetchall()
        )
        over = sum(1 for agent, load in loads.items() if load > capacities[agent])
        double = conn.execute(
            "SELECT count(*) FROM (SELECT conversation_id FROM conversation_events WHERE workspace_id = %s"
            " AND type = 'conversation.assigned' AND data->'assignee'->>'to' IS NOT NULL"
            " GROUP BY 1 HAVING count(*) > 1) d",
            (workspace_id,),
        ).fetchone()[0]
    return over, int(double)


def part_one(agents: int, queued: int, routers: int, seconds: float, resolve_rate: float, seed: int) -> dict:
    from sodam.db.migrate import upgrade

    with private_database() as db:
        upgrade(db.url)
        version = server_version(db.url)
        console.print(
            f"seeding {agents} agents and {queued:,} waiting conversations (PostgreSQL {version}) …"
        )
        workspace_id, capacities = _seed(db.url, agents, queued, seed)
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()
        ready, go = ctx.Semaphore(0), ctx.Event()
        procs = [
            ctx.Process(target=_router, args=(db.url, workspace_id, seconds, out, ready, go))
            for _ in range(routers)
        ]
        procs.append(
            ctx.Process(target=_resolver, args=(db.url, workspace_id, seconds, resolve_rate, out, ready, go))
        )
        console.print(f"{routers} routers + 1 resolver for {seconds:.0f} s …")
        for p in procs:
            p.start()
        for _ in procs:  # every process imported and connected: start together
            ready.acquire()
        go.set()
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
        over, double = _checks(db.url, workspace_id, capacities)
    decided = [d for r in results for d in r.get("decided", [])]
    passes = [d for r in results for d in r.get("passes", [])]
    return {
        "postgres": version,
        "agents": agents,
        "places": sum(capacities.values()),
        "queued": queued,
        "routers": routers,
        "assigned": sum(r.get("assigned", 0) for r in results),
        "resolved": sum(r.get("resolved", 0) for r in results),
        "decision_p50_ms": round(pct(decided, 0.5) or 0, 2),
        "decision_p99_ms": round(pct(decided, 0.99) or 0, 2),
        "pass_p99_ms": round(pct(passes, 0.99) or 0, 1),
        "over_capacity": over,
        "double_assigned": double,
    }


# --------------------------------------------------------------------------- part 2


def arrival_rate(hour: float) -> float:
    """Customers per minute over a day: quiet nights, a morning and an afternoon peak."""
    base = 0.2
    morning = 2.9 * math.exp(-((hour - 11) ** 2) / 4)
    afternoon = 2.7 * math.exp(-((hour - 15.5) ** 2) / 5)
    evening = 1.0 * math.exp(-((hour - 20.5) ** 2) / 3)
    return base + morning + afternoon + evening


def staffed(hour: float) -> int:
    """Agents on shift at this hour."""
    if 9 <= hour < 18:
        return 12
    if 8 <= hour < 22:
        return 6
    return 2


def simulate_day(seed: int, capacity: int = 2, handle_mean_s: float = 480.0) -> dict:
    from sodam.routing.queue import estimate_seconds

    rnd = random.Random(seed)
    sigma = 0.6
    mu = math.log(handle_mean_s) - sigma**2 / 2
    recent: deque[float] = deque((rnd.lognormvariate(mu, sigma) for _ in range(200)), maxlen=200)
    events: list[tuple[float, int, str, int]] = []  # (time_s, order, kind, id)
    order = 0
    t = 0.0
    cid = 0
    while t < 24 * 3600:  # thinning of a non-homogeneous Poisson process
        t += rnd.expovariate(4.0 / 60)
        if rnd.random() < arrival_rate(t / 3600) / 4.0:
            cid += 1
            heapq.heappush(events, (t, order := order + 1, "arrive", cid))
    for h in range(25):
        heapq.heappush(events, (h * 3600.0, order := order + 1, "shift", h))
    waiting: deque[int] = deque()
    busy = 0
    places = staffed(0) * capacity
    shown: dict[int, list[tuple[float, float]]] = {}
    assigned_at: dict[int, float] = {}

    def estimate_all(now: float) -> None:
        handle = statistics.fmean(recent)
        free = max(0, places - busy)
        for k, customer in enumerate(waiting, start=1):
            est = estimate_seconds(k, handle, places, free)
            if est is not None and (not shown.get(customer) or shown[customer][-1][1] != est):
                shown.setdefault(customer, []).append((now, est))

    def route(now: float) -> None:
        nonlocal busy, order
        while waiting and busy < places:
            customer = waiting.popleft()
            busy += 1
            assigned_at[customer] = now
            took = rnd.lognormvariate(mu, sigma)
            heapq.heappush(events, (now + took, order := order + 1, "done", int(took * 1000)))

    while events:
        now, _, kind, ident = heapq.heappop(events)
        if now > 26 * 3600:
            break
        if kind == "arrive":
            waiting.append(ident)
            route(now)
            estimate_all(now)
        elif kind == "done":
            busy -= 1
            recent.append(ident / 1000)
            route(now)
            estimate_all(now)
        else:
            places = staffed(ident % 24) * capacity
            route(now)
            estimate_all(now)
    errors, actual = [], []
    for customer, estimates in shown.items():
        if customer not in assigned_at:
            continue
        for at, est in estimates:
            waited = assigned_at[customer] - at
            errors.append(abs(est - waited))
            actual.append(waited)
    mae = statistics.fmean(errors) if errors else 0.0
    mean_wait = statistics.fmean(actual) if actual else 0.0
    return {
        "customers": cid,
        "estimates_shown": len(errors),
        "customers_who_waited": sum(1 for c in shown if c in assigned_at),
        "mean_actual_wait_s": round(mean_wait, 1),
        "wait_mae_s": round(mae, 1),
        "wait_mae_ratio": round(mae / mean_wait, 3) if mean_wait else None,
    }


def main(
    *,
    agents: int = 500,
    queued: int = 10_000,
    routers: int = 2,
    seconds: float = 20.0,
    resolve_rate: float = 200.0,
    seed: int = 7,
) -> None:
    one = part_one(agents, queued, routers, seconds, resolve_rate, seed)
    day = simulate_day(seed)
    console.print(
        f"routing: {one['assigned']:,} decisions by {routers} processes ({one['places']} places, "
        f"{one['resolved']:,} resolved meanwhile): decision p50 {one['decision_p50_ms']} ms, "
        f"p99 {one['decision_p99_ms']} ms (a whole dispatch pass p99 {one['pass_p99_ms']} ms); "
        f"over capacity {one['over_capacity']}, assigned twice {one['double_assigned']}"
    )
    console.print(
        f"a simulated day: {day['customers']:,} customers, {day['estimates_shown']:,} wait estimates shown; "
        f"mean actual wait {day['mean_actual_wait_s']} s, MAE {day['wait_mae_s']} s "
        f"(ratio {day['wait_mae_ratio']})"
    )
    print(json.dumps({**one, **day}, ensure_ascii=False))
