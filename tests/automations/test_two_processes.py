"""Once per trigger with two separate worker processes at once: two `sodam worker` processes
(each with its own automations loop polling every 20 ms) race on the same outbox events and
then on the same due journey steps; every rule still runs once per trigger and every step once.
(tests/automations/test_guarantees.py races concurrent job runs inside one process.)"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select, text, update

from sodam.automations import service
from sodam.automations.models import Run, RunStep
from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from tests.automations.helpers import bot_messages
from tests.conftest import ROOT, TEST_SECRET

HELLO = {
    "type": "message",
    "text": {"ko": "안녕하세요, {{contact.first_name}}님!", "en": "Hello {{contact.first_name}}!"},
}
PEOPLE = 40


def _worker(database_url: str, log_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "SODAM_DATABASE_URL": database_url,
        "SODAM_SECRET_KEY": TEST_SECRET,
        "SODAM_AUTOMATIONS_POLL_S": "0.02",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from sodam.cli import app; app()", "worker", "--concurrency", "2"],
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


async def _until(check, *, within_s: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _count(ws_id: int, model, *conds) -> int:
    async with session_scope() as s:
        return await s.scalar(
            select(func.count()).select_from(model).where(model.workspace_id == ws_id, *conds)
        )


async def test_two_worker_processes_run_each_trigger_once(make_workspace, database_url):
    ws = await make_workspace()
    async with session_scope() as s:
        await service.create(
            s,
            workspace_id=ws.workspace_id,
            enabled=True,
            name="두 프로세스",
            trigger_type="contact.created",
            trigger_config={},
            conditions=[],
            steps=[HELLO, {"type": "wait", "hours": 1}, {"type": "tag", "tag": "welcomed"}],
        )
    async with session_scope() as s:
        workers_before = await s.scalar(text("SELECT count(*) FROM procrastinate_workers"))
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)
    procs = [_worker(database_url, ROOT / f".pytest_cache/automations-worker-{i}.log") for i in range(2)]
    try:

        async def both_up() -> bool:
            assert all(p.poll() is None for p in procs), "a worker process exited"
            async with session_scope() as s:
                n = await s.scalar(text("SELECT count(*) FROM procrastinate_workers"))
            return n >= workers_before + 2

        await _until(both_up, what="two worker processes")
        # One transaction: 40 contact.created events land in the outbox at once, for both to race on.
        async with session_scope() as s:
            people = [
                (await contacts.create(s, workspace_id=ws.workspace_id, name=f"고객{i}", language="ko")).id
                for i in range(PEOPLE)
            ]

        async def greeted() -> bool:
            return await _count(ws.workspace_id, RunStep) >= PEOPLE * 2  # the message and the wait

        await _until(greeted, what="the first steps")
        await asyncio.sleep(1.0)  # a second more of both loops polling: nothing is done twice
        assert await _count(ws.workspace_id, Run) == PEOPLE
        assert await _count(ws.workspace_id, RunStep) == PEOPLE * 2
        assert await _count(ws.workspace_id, Run, Run.status == "waiting") == PEOPLE

        # Every wait comes due at the same moment: both processes race on the same due runs.
        async with session_scope() as s:
            await s.execute(
                update(Run)
                .where(Run.workspace_id == ws.workspace_id, Run.status == "waiting")
                .values(next_at=func.now() - timedelta(seconds=1))
            )

        async def finished() -> bool:
            return await _count(ws.workspace_id, Run, Run.status == "done") == PEOPLE

        await _until(finished, what="the journeys to finish")
        await asyncio.sleep(1.0)
        assert all(p.poll() is None for p in procs), "a worker process exited"
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)

    assert await _count(ws.workspace_id, Run) == PEOPLE
    async with session_scope() as s:
        rows = (
            await s.execute(
                select(RunStep.run_id, RunStep.step, func.count())
                .where(RunStep.workspace_id == ws.workspace_id)
                .group_by(RunStep.run_id, RunStep.step)
            )
        ).all()
    assert len(rows) == PEOPLE * 3 and all(n == 1 for _, _, n in rows)  # message, wait, tag: once each
    for who in people:
        assert len(await bot_messages(ws.workspace_id, who)) == 1
    # One conversation per contact (the message started it), tagged once: one tags.changed entry.
    async with session_scope() as s:
        per_contact = (
            await s.execute(
                text(
                    "SELECT c.contact_id, count(*), bool_and(c.tags = ARRAY['welcomed']::varchar[]),"
                    " sum((SELECT count(*) FROM conversation_events e WHERE e.conversation_id = c.id"
                    "      AND e.type = 'tags.changed'))"
                    " FROM conversations c WHERE c.workspace_id = :ws GROUP BY c.contact_id"
                ),
                {"ws": ws.workspace_id},
            )
        ).all()
    assert sorted(r[0] for r in per_contact) == sorted(people)
    assert all(n == 1 and tagged and changes == 1 for _, n, tagged, changes in per_contact)
