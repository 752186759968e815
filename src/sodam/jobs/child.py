"""The job worker of `sodam serve` in a child process of the web process.

The reactions to a customer message (sentiment, the bot's search and decision, routing,
automations) are CPU work in Python. Run on the web server's event loop they held it and its
GIL: at 500 customer messages a second the message path's p99 went from ~90 ms with the jobs
off to ~400-700 ms with them on (bench/README.md). In a child process they have their own
interpreter, and at a lower CPU priority the web server and PostgreSQL come first when the
two cores are busy; the jobs catch up when they are not.

The child is `sodam worker` with the same database and settings. It ends with its parent
(Linux: a parent-death signal; elsewhere it notices the parent is gone), and the parent starts
it again if it dies (kill -9, out of memory). Jobs it was running when killed are put back in
the queue by the stalled-job recovery in jobs/app.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys

log = logging.getLogger(__name__)

RESTART_PAUSE_S = 1.0
STOP_TIMEOUT_S = 15.0
PR_SET_PDEATHSIG = 1


class WorkerChild:
    """Starts `sodam worker` as a child process and keeps it running until stop()."""

    def __init__(self, database_url: str, *, concurrency: int, nice: int):
        self._url = database_url
        self._concurrency = concurrency
        self._nice = nice
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._spawn()
        log.info("job worker started as process %d (nice %d)", self._proc.pid, self._nice)
        self._supervisor = asyncio.create_task(self._supervise(), name="sodam-worker-child")

    async def _spawn(self) -> None:
        env = {**os.environ, "SODAM_DATABASE_URL": self._url}
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sodam",
            "worker",
            "--concurrency",
            str(self._concurrency),
            "--nice",
            str(self._nice),
            "--parent",
            str(os.getpid()),
            "--no-migrate",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            # Not in the terminal's process group: Ctrl+C stops the web process, which stops
            # its worker in order (not both at once, the worker started again in between).
            start_new_session=True,
        )

    async def _supervise(self) -> None:
        while not self._stopping:
            code = await self._proc.wait()
            if self._stopping:
                return
            log.warning("job worker process exited (%s); starting it again in %.0f s", code, RESTART_PAUSE_S)
            await asyncio.sleep(RESTART_PAUSE_S)
            if not self._stopping:
                try:
                    await self._spawn()
                except OSError:
                    log.warning("could not start the job worker process", exc_info=True)

    async def stop(self) -> None:
        """SIGTERM: the child stops taking jobs and lets the running ones finish."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor


def become_child(parent_pid: int, nice: int) -> None:
    """In the child: a lower CPU priority, and end when the parent ends (even by kill -9)."""
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
        _lower_autogroup(nice)
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may have died before the signal was asked for.
    if os.getppid() != parent_pid:
        raise SystemExit(0)


def _lower_autogroup(nice: int) -> None:
    """Linux shares the CPU between sessions ("autogroups") before a process's nice value
    counts, and the worker runs in a session of its own (see _spawn): at nice 10 it still took
    as much CPU as the web server (p99 0.4-1 s at 500 msg/s). Its session gets the nice value
    too. Nothing to do where there are no autogroups."""
    with contextlib.suppress(OSError):
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))


async def watch_parent(parent_pid: int, on_gone) -> None:
    """Where there is no parent-death signal: poll for the parent going away."""
    while True:
        await asyncio.sleep(2.0)
        if os.getppid() != parent_pid:
            on_gone()
            return
