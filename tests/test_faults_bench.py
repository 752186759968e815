"""A short `sodam bench faults`: a web process killed with -9 and the database restarted
(immediate mode) under a small load; nothing acknowledged may be lost or stored twice,
and every deferred job must finish. The full run is the benchmark (bench/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    bool(os.environ.get("SODAM_TEST_DATABASE_URL")),
    reason="runs on its own embedded PostgreSQL: the second-database CI run would repeat it unchanged",
)
def test_kill9_and_database_restart_lose_nothing():
    # Its own embedded PostgreSQL (the restart must not hit the test database's server).
    env = {k: v for k, v in os.environ.items() if k not in ("SODAM_DATABASE_URL", "SODAM_DATA_DIR")}
    sodam = str(Path(sys.executable).with_name("sodam"))
    run = subprocess.run(
        [sodam, "bench", "faults", "--duration", "12", "--rate", "15", "--widgets", "5"]
        + ["--agents", "1", "--bot-clients", "1", "--api-rate", "2"]
        + ["--fault", "serve_kill9", "--fault", "db_restart"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["acked"] > 100, result
    assert result["lost"] == 0, result
    assert result["duplicates"] == 0, result
    assert result["wrong_ack"] == 0, result
    assert result["undelivered"] == 0, result
    assert result["widget_missed"] == 0, result
    assert result["jobs_lost"] == 0, result
    assert result["jobs_run_twice"] == 0, result
    assert result["bot_questions"] > 0, result
    # Both faults happened and every client came back.
    assert set(result["recovery_s"]) == {"serve_kill9", "db_restart"}, result
    assert all(v is not None for v in result["recovery_s"].values()), result
