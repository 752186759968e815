"""`python -m bench.sentiment_write`: what the sentiment job's database work costs, alone.

The message path's p99 with the reactions running depends on how much of the two cores
PostgreSQL spends on the jobs. This measures the scoring job's share without the rest of
`sodam bench messages` around it (far less noisy on a shared machine): a private embedded
PostgreSQL, 50 conversations, messages stored through sodam_post_message in group-commit-
sized transactions, and after every round of `--per-round` messages one call of
`score_unscored_messages()` (the job's body) with a stub scorer (constant-time: the figure is
the database's). Printed per scored message: PostgreSQL CPU (every server process, from
/proc), WAL bytes, wall time; the same for the inserts as a yardstick. Last line: JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib

import psycopg
import typer

from bench.common import bench_database, console, seed
from bench.messages import PgCpu

TEXTS = [
    "배송이 너무 늦어요 언제 오나요",
    "환불 받고 싶습니다",
    "정말 친절하게 도와주셔서 감사합니다!",
    "주문한 상품이 파손되어 왔어요",
    "the app keeps crashing when I pay",
    "thanks, that solved it",
    "비밀번호를 잊어버렸어요",
    "최악이네요 다시는 안 삽니다",
]


def _wal(conn) -> int:
    return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


async def _contacts(url: str, ws: int, n: int) -> list[int]:
    from sodam.contacts.models import Contact
    from sodam.db.session import session_scope

    async with session_scope() as session:
        rows = [Contact(workspace_id=ws, name=f"고객 {i}") for i in range(n)]
        session.add_all(rows)
        await session.flush()
        ids = [c.id for c in rows]
        await session.commit()
    return ids


def main(
    rounds: int = typer.Option(10, help="insert-then-score rounds"),
    per_round: int = typer.Option(500, help="customer messages stored before each scoring call"),
    conversations: int = typer.Option(50),
    batch: int = typer.Option(50, help="messages per insert transaction (a group-commit batch)"),
) -> None:
    from sodam.conversations import tasks
    from sodam.db.migrate import upgrade
    from sodam.db.session import dispose_engine, init_engine
    from sodam.nlp.sentiment import Sentiment

    class Stub:  # constant-time, spread scores: the database's work is what is measured
        def score_many(self, texts):
            out = []
            for t in texts:
                s = (zlib.crc32(t.encode()) % 2001) / 1000 - 1
                out.append(
                    Sentiment(
                        round(s, 4),
                        "negative" if s < -0.2 else "positive" if s > 0.2 else "neutral",
                        "ko",
                        "stub",
                    )
                )
            return out

    tasks.scorer.cache_clear()
    tasks.scorer = lambda: Stub()  # type: ignore[assignment]

    with bench_database() as (url, _kind):
        upgrade(url)
        s = asyncio.run(seed(url))
        with psycopg.connect(url) as conn:
            ws = conn.execute("SELECT workspace_id FROM inboxes WHERE id = %s", (s.inbox_id,)).fetchone()[0]
        pg = PgCpu(url)

        async def run() -> dict:
            init_engine(url, pool_size=2)
            try:
                contacts = await _contacts(url, ws, conversations)
                ins = {"cpu": 0.0, "wal": 0, "wall": 0.0, "n": 0}
                sco = {"cpu": 0.0, "wal": 0, "wall": 0.0, "n": 0}
                k = 0
                with psycopg.connect(url, autocommit=False) as conn:
                    for _ in range(rounds):
                        c0, w0, t0 = pg.seconds(), _wal(conn), time.perf_counter()
                        for start in range(0, per_round, batch):
                            with conn.transaction():
                                for _i in range(start, min(start + batch, per_round)):
                                    contact = contacts[k % len(contacts)]
                                    conn.execute(
                                        "SELECT sodam_post_message(%s, %s, %s, NULL, 'contact', %s, 'text', %s, %s,"
                                        " NULL, 'ko', '[]'::jsonb)",
                                        (
                                            ws,
                                            s.inbox_id,
                                            contact,
                                            contact,
                                            f"{TEXTS[k % len(TEXTS)]} {k}",
                                            f"c{k}",
                                        ),
                                    )
                                    k += 1
                        conn.commit()
                        ins["cpu"] += pg.seconds() - c0
                        ins["wal"] += _wal(conn) - w0
                        ins["wall"] += time.perf_counter() - t0
                        ins["n"] += per_round
                        c0, w0, t0 = pg.seconds(), _wal(conn), time.perf_counter()
                        n = await tasks.score_unscored_messages()
                        conn.commit()
                        sco["cpu"] += pg.seconds() - c0
                        sco["wal"] += _wal(conn) - w0
                        sco["wall"] += time.perf_counter() - t0
                        sco["n"] += n
                    conn.commit()
                    # The incremental result must equal a rebuild from scratch (0023's function).
                    kept = conn.execute(
                        "SELECT conversation_id, score, messages, last_scored_at FROM conversation_sentiments ORDER BY 1"
                    ).fetchall()
                    conn.execute("SELECT sodam_conversation_sentiments_rebuild(NULL)")
                    rebuilt = conn.execute(
                        "SELECT conversation_id, score, messages, last_scored_at FROM conversation_sentiments ORDER BY 1"
                    ).fetchall()
                    conn.rollback()
                    mismatches = len(set(kept) ^ set(rebuilt))
                    checks = conn.execute(
                        "SELECT (SELECT count(*) FROM messages WHERE sentiment_score IS NULL),"
                        " (SELECT count(*) FROM conversation_sentiments),"
                        " (SELECT count(*) FROM contact_sentiments),"
                        " (SELECT count(DISTINCT conversation_id) FROM report_dirty)"
                    ).fetchone()
                return {"insert": ins, "score": sco, "checks": (*checks, mismatches)}
            finally:
                await dispose_engine()

        r = asyncio.run(run())

    out = {}
    for name in ("insert", "score"):
        d = r[name]
        n = max(d["n"], 1)
        out[f"{name}_messages"] = d["n"]
        out[f"{name}_pg_cpu_us_per_msg"] = round(d["cpu"] / n * 1e6, 1)
        out[f"{name}_wal_bytes_per_msg"] = round(d["wal"] / n)
        out[f"{name}_wall_us_per_msg"] = round(d["wall"] / n * 1e6, 1)
    (
        out["unscored_left"],
        out["conversation_sentiments"],
        out["contact_sentiments"],
        out["dirty_conversations"],
        out["mismatches_vs_rebuild"],
    ) = r["checks"]
    console.print(out)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    typer.run(main)
