"""Console sign-in throttling over real HTTP on the real database: growing delays, the lock
(with its ko/en message and Retry-After), its expiry, the owner's notice, per-IP limits,
parallel guesses, and that an unknown e-mail is treated exactly like a real one."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sodam.app import create_app
from sodam.config import Settings
from tests.test_console_helpers import CSRF_RE, login

# The suite relaxes the per-IP sign-in limits (conftest); these tests use the real defaults.
STRICT = {
    "rate_limit_login_ip": Settings.model_fields["rate_limit_login_ip"].default,
    "login_ip_delay_after": Settings.model_fields["login_ip_delay_after"].default,
    "login_ip_lock_after": Settings.model_fields["login_ip_lock_after"].default,
}


class FakeClock:
    def __init__(self):
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FakeClock()


def app_client(clock: FakeClock | None = None, **overrides) -> httpx.AsyncClient:
    """An in-process app on the test database, behind a trusted proxy so each test can
    speak from its own address (X-Forwarded-For)."""
    ip = overrides.pop("ip", None) or f"198.51.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    app = create_app(Settings(**{**STRICT, "trusted_proxies": "127.0.0.1", **overrides}))
    app.state.clock = clock
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sodam.test",
        headers={"X-Forwarded-For": ip},
    )


def retry_after(r: httpx.Response) -> int:
    value = int(r.headers["Retry-After"])
    assert value >= 1
    return value


async def test_thirty_wrong_passwords_lock_and_the_right_one_is_refused(make_workspace, clock):
    ws = await make_workspace()
    statuses = []
    async with app_client(clock) as client:
        # An attacker who waits out every delay: 9 plain failures, the 10th locks.
        for _ in range(30):
            r = await login(client, ws.agent_email, "wrong-" + secrets.token_hex(3))
            statuses.append(r.status_code)
            if r.status_code == 429 and "잠시 잠겼습니다" not in r.text:
                clock.advance(retry_after(r))  # a delay, not the lock: wait it out
        assert statuses[:5] == [400] * 5
        assert statuses.count(400) == 9, statuses
        locked = await login(client, ws.agent_email, ws.agent_password)
        assert locked.status_code == 429
        assert "로그인에 여러 번 실패하여 이 계정의 로그인이 잠시 잠겼습니다" in locked.text
        assert "15분 후에 다시 시도해 주세요" in locked.text
        assert 800 < retry_after(locked) <= 900
        assert "sodam_session" not in client.cookies
        en = await client.post(
            "/console/login?lang=en",
            data={"email": ws.agent_email, "password": ws.agent_password, "csrf_token": _csrf(client)},
        )
        assert en.status_code == 429 and "locked for now" in en.text and "try again in" in en.text
        # The lock expires; the right password then works and starts the account afresh.
        clock.advance(retry_after(locked) + 1)
        ok = await login(client, ws.agent_email, ws.agent_password)
        assert ok.status_code == 303 and "sodam_session" in client.cookies


async def test_full_speed_guessing_gets_429_with_growing_delays(make_workspace, clock):
    ws = await make_workspace()
    async with app_client(clock) as client:
        first = [await login(client, ws.agent_email, f"guess-{i}") for i in range(5)]
        assert [r.status_code for r in first] == [400] * 5
        delays = []
        for i in range(4):
            refused = await login(client, ws.agent_email, ws.agent_password)  # even the right one
            assert refused.status_code == 429 and "sodam_session" not in client.cookies
            assert "로그인 시도가 너무 많습니다" in refused.text
            delays.append(retry_after(refused))
            clock.advance(delays[-1])
            assert (await login(client, ws.agent_email, f"again-{i}")).status_code == 400
        assert delays == [2, 4, 8, 16]


async def test_unknown_email_is_throttled_exactly_like_a_real_one(make_workspace, clock):
    ws = await make_workspace()
    ghost = f"nobody-{secrets.token_hex(3)}@nowhere.test"
    answers = {}
    for email in (ws.agent_email, ghost):
        async with app_client(clock) as client:
            seen = []
            for _ in range(16):
                r = await login(client, email, "wrong-password")
                seen.append((r.status_code, r.headers.get("Retry-After")))
                if r.status_code == 429 and r.headers["Retry-After"] != "900":
                    clock.advance(int(r.headers["Retry-After"]))
            answers[email] = seen
    assert answers[ws.agent_email] == answers[ghost]
    assert (429, "900") in answers[ghost]


async def test_the_owner_sees_a_notice_when_their_account_is_locked(make_workspace, clock):
    ws = await make_workspace()
    async with app_client(clock, login_delay_after=3, login_lock_after=3) as client:
        for _ in range(3):
            r = await login(client, ws.agent_email, "wrong-password")
        assert r.status_code == 429 and "잠시 잠겼습니다" in r.text
        clock.advance(901)
        ok = await login(client, ws.agent_email, ws.agent_password)
        assert ok.status_code == 303
        page = await client.get("/console", headers={"Accept": "text/html"})
        assert page.status_code == 200
        notice = re.search(r'<div class="security-notice"[^>]*data-notice-id="(\d+)"', page.text)
        assert notice, "no security notice on the console"
        assert "로그인 실패가 3회 이어져" in page.text and "198.51." in page.text
        dismissed = await client.post(
            f"/console/notices/{notice.group(1)}/read",
            data={"csrf_token": _csrf(client), "next": "/console"},
        )
        assert dismissed.status_code == 303
        again = await client.get("/console", headers={"Accept": "text/html"})
        assert "security-notice" not in again.text


async def test_a_success_resets_the_account_counter(make_workspace, clock):
    ws = await make_workspace()
    async with app_client(clock) as client:
        for _ in range(4):
            assert (await login(client, ws.agent_email, "wrong")).status_code == 400
        assert (await login(client, ws.agent_email, ws.agent_password)).status_code == 303
        client.cookies.delete("sodam_session")
        # Counted from zero again: five plain failures before the first delay.
        assert [(await login(client, ws.agent_email, "wrong")).status_code for _ in range(6)] == [400] * 5 + [
            429
        ]


async def test_parallel_guesses_cannot_slip_past_the_counter(make_workspace, clock):
    ws = await make_workspace()
    async with app_client(clock) as client:
        page = await client.get("/console/login")
        token = CSRF_RE.search(page.text).group(1)

        async def guess(i: int) -> int:
            data = {"email": ws.agent_email, "password": f"parallel-{i}", "csrf_token": token}
            return (await client.post("/console/login", data=data)).status_code

        statuses = await asyncio.gather(*(guess(i) for i in range(20)))
    # Counted before the password check: only the first five are even tried.
    assert sorted(statuses) == [400] * 5 + [429] * 15


async def test_one_address_guessing_many_accounts_is_throttled(make_workspace, clock):
    ws = await make_workspace()
    ip = f"203.0.113.{secrets.randbelow(250) + 1}"
    async with app_client(clock, ip=ip) as client:
        statuses = [
            (await login(client, f"user{i}-{secrets.token_hex(2)}@example.test", "pw-guess")).status_code
            for i in range(20)
        ]
        assert statuses == [400] * 20  # one try per account: no account is throttled
        refused = await login(client, ws.agent_email, ws.agent_password)
        assert refused.status_code == 429 and retry_after(refused) == 2
    async with app_client(clock) as elsewhere:  # another address is not affected
        assert (await login(elsewhere, ws.agent_email, ws.agent_password)).status_code == 303


async def test_sign_in_requests_per_ip_are_rate_limited(make_workspace, clock):
    ws = await make_workspace()
    async with app_client(clock, rate_limit_login_ip="3/minute") as client:
        for _ in range(3):
            assert (await login(client, ws.agent_email, ws.agent_password)).status_code == 303
            client.cookies.delete("sodam_session")
        r = await login(client, ws.agent_email, ws.agent_password)
        assert r.status_code == 429 and 1 <= retry_after(r) <= 20


def _csrf(client: httpx.AsyncClient) -> str:
    return client.cookies.get("sodam_csrf") or ""


async def test_purge_forgets_old_counters_but_keeps_locks(db):
    from sodam.accounts import throttle
    from sodam.db.session import raw_pool

    settings = Settings(login_delay_after=1, login_lock_after=1, login_lock_s=7 * 24 * 3600)
    old, locked = f"old-{secrets.token_hex(3)}@x.test", f"locked-{secrets.token_hex(3)}@x.test"
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    await throttle.begin_attempt(settings=Settings(), email=old, ip="192.0.2.1", now=two_days_ago)
    await throttle.begin_attempt(settings=settings, email=locked, ip="192.0.2.2", now=two_days_ago)
    await throttle.purge(window_s=24 * 3600)
    pool = await raw_pool()
    async with pool.connection() as conn:
        keys = {r[0] for r in await (await conn.execute("SELECT key FROM login_throttles")).fetchall()}
    assert throttle.account_key(old) not in keys
    assert throttle.account_key(locked) in keys  # still locked for five more days
