"""Rate-limit checks per second: `python -m bench.ratelimit [--checks N] [--concurrency C ...]`.

One check is `sodam_rate_hit()` on the autocommit pool (sodam.core.ratelimit.hit), the same
call the widget's message path makes. Measured three ways on a fresh database (a private
embedded PostgreSQL, or SODAM_DATABASE_URL's server):
- one caller after another (the latency of one check: one round trip);
- C concurrent callers on distinct keys (visitors);
- C concurrent callers on one key (one busy address: every update takes the same row lock);
and the two-key check of a widget message (its visitor's key and one shared IP key, hit_all),
one caller after another and C at once: concurrent callers' checks share one statement
(batched like group commit), so checks/s grows with callers while a lone check stays one
round trip.
`--batch-ab C` instead times the batch statement itself, C callers x (visitor + one of four
shared address keys) per call on one connection: migration 0046's `sodam_rate_hit_many` (each
bucket updated in place) against 0009's (a nested `sodam_rate_hit` per check), alternating in
one run on the same database.
Prints a table, then as the LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time

from bench.common import bench_database, console, server_version


async def _run(checks: int, concurrency: int, same_key: bool, two_keys: bool) -> dict:
    from sodam.core.ratelimit import Rate, hit, hit_all

    rate = Rate(1_000_000, 60.0)  # never refuses: we measure the check, not the refusal
    prefix = secrets.token_hex(4)
    latencies: list[float] = []
    per_worker = checks // concurrency

    async def worker(n: int) -> None:
        subject = f"{prefix}-shared" if same_key else f"{prefix}-{n}"
        for _ in range(per_worker):
            started = time.perf_counter()
            if two_keys:
                await hit_all([("bench_visitor", subject, rate), ("bench_ip", f"{prefix}-ip", rate)])
            else:
                await hit(rule="bench", subject=subject, rate=rate)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "concurrency": concurrency,
        "same_key": same_key,
        "two_keys": two_keys,
        "checks": len(latencies),
        "checks_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
    }


async def _bench(url: str, checks: int, concurrencies: list[int]) -> list[dict]:
    from sodam.db.session import dispose_engine, init_engine, raw_pool

    init_engine(url, pool_size=max(concurrencies))
    try:
        await raw_pool()
        await _run(500, 1, False, False)  # warm up: connections open, statements prepared
        results = [await _run(checks, 1, False, False)]
        for c in concurrencies:
            results.append(await _run(checks, c, False, False))
            results.append(await _run(checks, c, True, False))
        results.append(await _run(checks, 1, False, True))
        for c in concurrencies:
            results.append(await _run(checks, c, False, True))
        return results
    finally:
        await dispose_engine()


def _batch_ab(url: str, callers: int, calls: int, rounds: int = 4) -> dict:
    import importlib.util

    import psycopg

    from sodam.db.migrate import MIGRATIONS_DIR

    path = MIGRATIONS_DIR / "versions" / "0046_rate_hit_many_inline.py"
    spec = importlib.util.spec_from_file_location("m0046", path)
    m0046 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m0046)
    timings: dict[str, list[float]] = {"inline": [], "nested": []}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(m0046.nested().replace("sodam_rate_hit_many(", "bench_rate_hit_many_nested(", 1))
        for n in range(rounds):
            order = ["inline", "nested"] if n % 2 == 0 else ["nested", "inline"]
            for variant in order:
                fn = "sodam_rate_hit_many" if variant == "inline" else "bench_rate_hit_many_nested"
                sql = (
                    f"SELECT count(*) FROM {fn}(%s::int[], %s::text[], %s::text[], %s::bigint[],"
                    " %s::int[], %s::float8[], %s::float8[])"
                )
                started = time.perf_counter()
                for call in range(calls):
                    keys, ids = [], []
                    for c in range(callers):
                        ids += [c, c]
                        keys += [f"{variant}{n}:v:{call % 300}:{c}", f"{variant}{n}:ip:{c % 4}"]
                    m = len(keys)
                    conn.execute(
                        sql,
                        (ids, keys, ["bench"] * m, [None] * m, [1_000_000] * m, [60.0] * m, [None] * m),
                        prepare=True,
                    )
                timings[variant].append((time.perf_counter() - started) / calls * 1000)
    out = {"callers": callers, "keys_per_call": callers * 2, "calls": calls}
    for variant, values in timings.items():
        out[f"{variant}_ms_per_call"] = round(statistics.median(values), 3)
        out[f"{variant}_runs_ms"] = [round(v, 3) for v in values]
    out["inline_over_nested"] = round(out["inline_ms_per_call"] / out["nested_ms_per_call"], 3)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16])
    parser.add_argument(
        "--batch-ab", type=int, metavar="C", help="time the batch statement, C callers a call"
    )
    parser.add_argument(
        "--calls", type=int, default=1000, help="with --batch-ab: calls per variant and round"
    )
    args = parser.parse_args(argv)
    from rich.table import Table

    from sodam.db.migrate import upgrade

    if args.batch_ab:
        with bench_database() as (url, where):
            upgrade(url)
            result = {
                "postgres": server_version(url),
                "where": where,
                **_batch_ab(url, args.batch_ab, args.calls),
            }
        print(json.dumps(result))
        return

    with bench_database() as (url, where):
        upgrade(url)
        version = server_version(url)
        results = asyncio.run(_bench(url, args.checks, args.concurrency))
    table = Table(title=f"rate-limit checks, PostgreSQL {version} ({where})")
    for column in ("callers", "keys", "checks/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for r in results:
        keys = "visitor+IP" if r["two_keys"] else ("one shared" if r["same_key"] else "one per caller")
        table.add_row(
            str(r["concurrency"]), keys, f"{r['checks_per_s']:,}", str(r["p50_ms"]), str(r["p99_ms"])
        )
    console.print(table)
    print(json.dumps({"postgres": version, "where": where, "results": results}))


if __name__ == "__main__":
    main()
