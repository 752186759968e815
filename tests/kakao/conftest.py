"""Servers for the KakaoTalk tests that wait longer for start-up: the machine is shared, and a
server importing every domain under load can take longer than the suite's 30 seconds."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import LiveServer


class PatientServer(LiveServer):
    def __init__(self, database_url: str, extra_env: dict | None = None, wait_s: float = 180):
        try:
            super().__init__(database_url, extra_env=extra_env)
            return
        except RuntimeError:
            if self.proc.poll() is not None:
                raise
        deadline = time.time() + wait_s
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")


@pytest.fixture(scope="session")
def kakao_server(database_url):
    """A server whose worker retries dealer sends quickly (3 tries, 0.2 s then 0.4 s)."""
    server = PatientServer(
        database_url, extra_env={"SODAM_KAKAO_RETRY_BASE_S": "0.2", "SODAM_KAKAO_SEND_ATTEMPTS": "3"}
    )
    yield server
    server.stop()
