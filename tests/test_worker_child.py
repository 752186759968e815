"""`sodam serve` runs its job worker as a child process: niced, started again when it dies,
and never outliving the web process (even one killed with -9)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import psutil
import pytest

from sodam.db.session import session_scope
from sodam.jobs.app import defer_in_tx
from tests.test_jobs import job_status


def worker_children(pid: int, *, nice: int | None = None) -> list[psutil.Process]:
    """The `sodam worker` children of pid (with that nice value: once it has lowered it)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for child in children:
        try:
            if (
                "worker" in child.cmdline()
                and child.status() != psutil.STATUS_ZOMBIE
                and (nice is None or child.nice() == nice)
            ):
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _autogroup_nice(path: str) -> str:
    with open(path) as f:  # "/autogroup-85 nice 0"
        return f.read().split()[-1]


@pytest.fixture
def child_server(server_factory):
    return server_factory(
        extra_env={"SODAM_RUN_WORKER": "true", "SODAM_WORKER_PROCESS": "true", "SODAM_WORKER_NICE": "10"}
    )


async def test_the_worker_child_runs_jobs_at_a_lower_priority_and_comes_back_after_kill_9(db, child_server):
    (child,) = wait_for(lambda: worker_children(child_server.proc.pid, nice=10), 30, "the niced worker child")
    assert psutil.Process(child_server.proc.pid).nice() == 0
    # The worker has a session of its own; where Linux shares the CPU between sessions first
    # (autogroups), that session is niced too, else the nice value above changes nothing.
    autogroup = f"/proc/{child.pid}/autogroup"
    if os.path.exists(autogroup):  # noqa: ASYNC240 (procfs: never blocks)
        assert wait_for(lambda: _autogroup_nice(autogroup) == "10", 10, "the worker's niced autogroup")

    async with session_scope() as session:
        job = await defer_in_tx(session, "sodam.echo", {"n": "child"}, queue="default")
    # The web process runs no worker of its own: with no other server up, the child ran it.
    for _ in range(300):
        if await job_status(job) == "succeeded":
            break
        await asyncio.sleep(0.2)
    assert await job_status(job) == "succeeded"

    os.kill(child.pid, signal.SIGKILL)
    (again,) = wait_for(
        lambda: [c for c in worker_children(child_server.proc.pid, nice=10) if c.pid != child.pid],
        30,
        "a new niced worker child after kill -9",
    )
    assert again.is_running()


def test_the_worker_child_ends_with_a_web_process_killed_with_9(child_server):
    (child,) = wait_for(lambda: worker_children(child_server.proc.pid), 30, "the worker child")
    os.kill(child_server.proc.pid, signal.SIGKILL)
    child_server.proc.wait(10)
    wait_for(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 20, "the child to end")
