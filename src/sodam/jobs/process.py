"""The job worker as its own process beside the web processes (what `sodam serve` starts).

The reactions to a customer message (sentiment on every one, the bot in bot inboxes,
routing, analytics) are Python CPU work: ORM round trips, language detection, Kiwi, the
encoder. Run inside a web process they hold its GIL between the event loop's turns, so a
customer's message waited behind a job (a p99 of seconds at 500 msg/s on 2 cores). In a
process of their own the operating system shares the cores instead, and the worker runs at
a lower CPU priority (`nice`): the message path goes first; jobs catch up when it is quiet.
Nothing is lost by the lower priority: jobs are rows, run later rather than not at all.

The supervisor starts `sodam worker` again when it exits on its own (a crash, kill -9);
the jobs a killed worker was running go back to the queue (jobs.app.retry_stalled_jobs).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger(__name__)

# Seconds between a worker's unexpected exit and its next start.
RESTART_PAUSE_S = 1.0
# On stop: the worker's running jobs get this long to finish after SIGTERM.
STOP_GRACE_S = 15.0


def worker_command(*, concurrency: int, nice: int = 0) -> list[str]:
    """`sodam worker` as a child of this Python (the same interpreter and sys.path)."""
    cmd = [sys.executable, "-m", "sodam.cli", "worker", "--concurrency", str(concurrency)]
    if nice:
        cmd += ["--nice", str(nice)]
    return cmd


# Set in the child's environment: the worker stops when this process is no longer its parent
# (the parent was killed with -9), instead of running on as an orphan.
PARENT_PID_ENV = "SODAM_WORKER_PARENT_PID"


def worker_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: this one, as `sodam worker` wants it (its own, not in-process)."""
    return {**os.environ, **(env or {}), "SODAM_RUN_WORKER": "false", PARENT_PID_ENV: str(os.getpid())}


async def exit_with_parent(stop, *, every_s: float = 2.0) -> None:
    """In the child: call stop() once the parent named in PARENT_PID_ENV is gone."""
    import asyncio

    parent = os.environ.get(PARENT_PID_ENV)
    if not parent:
        return
    while True:  # polled: nothing signals a parent's death to its child
        if os.getppid() != int(parent):
            break
        await asyncio.sleep(every_s)
    log.warning("the parent process %s is gone; the job worker stops", parent)
    stop()


class WorkerSupervisor:
    """One `sodam worker` child, started again after an unexpected exit until stop()."""

    def __init__(
        self,
        *,
        concurrency: int,
        nice: int = 0,
        env: dict[str, str] | None = None,
        stdout=None,
    ):
        self.cmd = worker_command(concurrency=concurrency, nice=nice)
        self.env = worker_env(env)
        self.stdout = stdout
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="sodam-worker-supervisor", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # Its own session: Ctrl+C on the terminal reaches the parent only, which then stops
            # the worker itself (SIGTERM) after the web processes, rather than the worker
            # exiting first and being started again.
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                stdout=self.stdout,
                stderr=subprocess.STDOUT if self.stdout else None,
                start_new_session=True,
            )
            self.starts += 1

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self.proc
            code = proc.wait() if proc is not None else None
            if self._stopping.is_set():
                return
            log.warning("job worker exited (%s); starting it again in %.0f s", code, RESTART_PAUSE_S)
            if self._stopping.wait(RESTART_PAUSE_S):
                return
            self._spawn()

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stop(self, *, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (the running jobs finish), then SIGKILL after grace_s."""
        with self._lock:
            self._stopping.set()
            proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._watcher is not None:
            self._watcher.join(5)
