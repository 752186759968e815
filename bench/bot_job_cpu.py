"""`python -m bench.bot_job_cpu`: the CPU one bot reply job costs, alone.

With the worker inside `sodam serve`, a reply job's Python runs on the web process's event
loop, beside the message path (`sodam bench messages`). This measures it without the rest of
that bench around it (far less noisy on a shared machine): a private embedded PostgreSQL, the
messages bench's seed (a bot inbox with an empty knowledge base: the bot hands off at the
first decision), then per conversation one customer line and one call of the job's body
(`bot.service.handle_customer_message`), timed in process time (Python, psycopg, SQLAlchemy):
- `handoff`: nothing newer arrives, the run hands the conversation off;
- `superseded`: a newer line is stored while the run searches (a visitor typing line after
  line, as in the messages bench), the run ends "superseded" under the lock;
- `answered`: a knowledge source that answers every question with one article at once (no
  index, no encoder): the answer path's reads and writes (the record, the two messages, the
  assume-resolved job) — the decision's CPU outside the search, as `bench bot-latency` runs it.
Per kind: process CPU and the event loop's thread CPU per job, and SQL statements per job.
The first few runs (models and caches loading) are reported apart as `warm`. Last line: JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import typer

os.environ.setdefault("SODAM_BENCH_JOBS", "inprocess")  # the seed's inbox gets the bot

from bench.common import bench_database, console, seed  # noqa: E402

LINE = "Hi, I was charged twice for order #48213, can you check?"


async def _measure(url: str, runs: int, show_sql: bool = False) -> dict:
    from sqlalchemy import event, select

    from sodam.bot import service
    from sodam.bot.knowledge_source import KnowledgeBaseSource
    from sodam.channels.models import Inbox
    from sodam.contacts import service as contacts
    from sodam.conversations.message_path import post_visitor_message
    from sodam.db.session import dispose_engine, init_engine, session_scope

    seeded = await seed(url)
    init_engine(url, pool_size=4)
    kb = KnowledgeBaseSource()
    async with session_scope() as session:
        workspace_id = await session.scalar(select(Inbox.workspace_id).where(Inbox.id == seeded.inbox_id))

    async def say(contact_id: int, text: str, client_id: str) -> dict:
        message, _ = await post_visitor_message(
            workspace_id=workspace_id,
            inbox_id=seeded.inbox_id,
            contact_id=contact_id,
            content=text,
            client_id=client_id,
            language=None,
            max_chars=4000,
        )
        return message

    class Interrupted:
        """The knowledge base, with the customer's next line stored while it searches."""

        def __init__(self, contact_id: int, client_id: str):
            self.contact_id, self.client_id = contact_id, client_id

        async def search(self, session, workspace_id, text, language):
            await say(self.contact_id, "그리고 하나 더요", self.client_id)
            return await kb.search(session, workspace_id, text, language)

        def __getattr__(self, name):
            return getattr(kb, name)

    class Answering:
        """Answers every question with one article, no search (the decision's own work only)."""

        async def search(self, session, workspace_id, text, language):
            article = service.Candidate(1, "결제 취소", "http://localhost/help/bench/articles/1", LINE, True)
            return service.KbAnswer("answer", [article], "billing")

        async def candidate(self, session, workspace_id, article_id, language):
            return None

        async def feedback(self, session, workspace_id, article_id, helpful):
            return None

    from sodam.db.session import get_engine

    statements = [0]
    locked_from: list[int | None] = [None]  # the statement that took the conversation's row lock
    shown: list[str] = []

    def count(_conn, _cursor, sql, *_rest):
        statements[0] += 1
        if locked_from[0] is None and "FROM conversations" in sql and "FOR NO KEY UPDATE" in sql:
            locked_from[0] = statements[0]
        if show_sql:
            shown.append(" ".join(sql.split())[:160])

    # Statements a job sends with its COMMIT in one round trip (db.pipeline): counted as
    # statements, and the round trip as the COMMIT's.
    from sodam.bot import handoff, reply_jobs

    pipelined = [0]
    one_round_trip = handoff.commit_in_one_round_trip
    callers = (handoff, service, reply_jobs)

    async def counted(session, batch):
        pipelined[0] += len(batch)
        if show_sql:
            shown.extend(f"(pipelined) {' '.join(str(statement).split())[:150]}" for statement, _ in batch)
        return await one_round_trip(session, batch)

    for caller in callers:
        caller.commit_in_one_round_trip = counted
    event.listen(get_engine().sync_engine, "before_cursor_execute", count)
    out: dict = {}
    try:
        plan = (
            ("warm", 5),
            ("handoff", runs),
            ("superseded", runs),
            ("warm-answered", 5),
            ("answered", runs),
        )
        for kind, n in plan:
            cpu, loop_cpu, job_statements, under_lock, outcomes = 0.0, 0.0, 0, 0, {}
            for i in range(n):
                async with session_scope() as session:
                    contact = await contacts.create(session, workspace_id=workspace_id, name=f"{kind} {i}")
                message = await say(contact.id, LINE, f"{kind}-{i}")
                if kind == "superseded":
                    source = Interrupted(contact.id, f"{kind}-{i}-next")
                else:
                    source = Answering() if kind.endswith("answered") else kb
                before = statements[0] + pipelined[0]
                locked_from[0] = None
                shown.clear()
                started, loop_started = time.process_time(), time.thread_time()
                async with session_scope() as session:
                    outcome = await service.handle_customer_message(
                        session, message_id=message["id"], kb=source
                    )
                cpu += time.process_time() - started
                loop_cpu += time.thread_time() - loop_started
                job_statements += statements[0] + pipelined[0] - before
                # Round trips while the row is held: from the lock to the last statement, plus COMMIT.
                under_lock += statements[0] - locked_from[0] + 2 if locked_from[0] is not None else 0
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            out[kind] = {
                "runs": n,
                "cpu_ms_per_job": round(cpu / n * 1e3, 2),
                "loop_cpu_ms_per_job": round(loop_cpu / n * 1e3, 2),
                "statements_per_job": round(job_statements / n, 2),
                "round_trips_holding_the_row": round(under_lock / n, 2),
                "outcomes": outcomes,
            }
            if show_sql:  # each kind's last job's statements
                console.print(f"-- {kind}", markup=False, highlight=False)
                for sql in shown:
                    console.print(sql, markup=False, highlight=False)
    finally:
        for caller in callers:
            caller.commit_in_one_round_trip = one_round_trip
        await dispose_engine()
    return out


def main(
    runs: int = typer.Option(40, help="conversations per kind (handoff, superseded, answered)"),
    show_sql: bool = typer.Option(False, help="print the last job's statements"),
) -> None:
    from sodam.db.migrate import upgrade

    with bench_database() as (url, _kind):
        upgrade(url)
        result = asyncio.run(_measure(url, runs, show_sql))
    for kind, figures in result.items():
        console.print(
            f"{kind:>13}: {figures['cpu_ms_per_job']:8.2f} ms CPU per job"
            f" (event loop {figures['loop_cpu_ms_per_job']:.2f}),"
            f" {figures['statements_per_job']:.1f} statements,"
            f" {figures['round_trips_holding_the_row']:.1f} round trips holding the row  {figures['outcomes']}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    typer.run(main)
