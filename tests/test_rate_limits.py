"""Rate limits: GCRA buckets in PostgreSQL shared by every process (sodam.core.ratelimit)."""

from __future__ import annotations

import secrets

import pytest

from sodam.core.ratelimit import Rate, hit, hit_all, parse_rate


def test_parse_rate():
    assert parse_rate("60/minute") == Rate(60, 60.0)
    assert parse_rate("5/10s") == Rate(5, 10.0)
    assert parse_rate("1000/hours") == Rate(1000, 3600.0)
    for bad in ("", "60", "0/minute", "5/fortnight", "x/minute"):
        with pytest.raises(ValueError):
            parse_rate(bad)


async def test_gcra_burst_refusal_and_exact_retry(db):
    subject = secrets.token_hex(4)
    rate = Rate(5, 10.0)
    t0 = 1_000_000.0
    decisions = [await hit(rule="t", subject=subject, rate=rate, now=t0) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    refused = decisions[-1]
    assert refused.retry_after_s == pytest.approx(2.0)  # one token every 10/5 s
    assert refused.retry_after == 2
    # A refused request spends nothing: 1.99 s later still refused, at 2.0 s allowed again.
    assert not (await hit(rule="t", subject=subject, rate=rate, now=t0 + 1.99)).allowed
    assert (await hit(rule="t", subject=subject, rate=rate, now=t0 + 2.0)).allowed
    # After a whole period of quiet the full burst is back.
    later = [await hit(rule="t", subject=subject, rate=rate, now=t0 + 12.1) for _ in range(5)]
    assert all(d.allowed for d in later)


async def test_hit_all_stops_at_first_refusal(db):
    narrow, wide = secrets.token_hex(4), secrets.token_hex(4)
    t0 = 2_000_000.0
    checks = [("n", narrow, Rate(2, 60.0)), ("w", wide, Rate(100, 60.0))]
    first = await hit_all(checks, now=t0)
    assert [d.allowed for d in first] == [True, True]
    await hit_all(checks, now=t0)
    third = await hit_all(checks, now=t0)
    assert len(third) == 1 and not third[0].allowed  # the wide bucket was not asked
    wide_state = await hit(rule="w", subject=wide, rate=Rate(100, 60.0), now=t0)
    assert wide_state.remaining == 100 - 3
