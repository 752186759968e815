"""`sodam serve` runs the jobs in a `sodam worker` child: started again when it dies, stopped
with the parent, and gone when the parent is killed."""

from __future__ import annotations

import os
import signal
import sys
import time

from sodam.jobs import process


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_worker_command_runs_this_python_as_a_separate_worker():
    cmd = process.worker_command(concurrency=3, nice=5)
    assert cmd[:4] == [sys.executable, "-m", "sodam.cli", "worker"]
    assert cmd[cmd.index("--concurrency") + 1] == "3" and cmd[cmd.index("--nice") + 1] == "5"
    env = process.worker_env({"SODAM_RUN_WORKER": "true"})
    assert env["SODAM_RUN_WORKER"] == "false" and env[process.PARENT_PID_ENV] == str(os.getpid())


def test_a_killed_worker_is_started_again_and_stop_ends_it(monkeypatch):
    monkeypatch.setattr(process, "RESTART_PAUSE_S", 0.1)
    supervisor = process.WorkerSupervisor(concurrency=1)
    supervisor.cmd = [sys.executable, "-c", "import time; time.sleep(120)"]  # stands in for the worker
    supervisor.start()
    try:
        first = supervisor.pid()
        os.kill(first, signal.SIGKILL)  # a crash
        assert _wait_for(lambda: supervisor.pid() != first and supervisor.proc.poll() is None)
        assert supervisor.starts == 2
    finally:
        supervisor.stop(grace_s=5)
    assert supervisor.proc.poll() is not None
    time.sleep(0.3)
    assert supervisor.starts == 2  # not started again after stop()
