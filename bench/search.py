"""Conversation search at scale: `sodam bench search [--messages N]`.

Builds a private database with N messages (default 1,000,000) in N/10 conversations,
Korean and English mixed, from the shared datasets (NSMC reviews and paraKQC questions
for Korean, BANKING77 and CLINC150 queries for English), loaded with COPY; analyses every
distinct text the way the indexer does (kiwipiepy morphemes / English stems) and loads
the index; then times 200 searches (half Korean, half English, most with filters) through
the search service — query analysis, the SQL, loading the hits and highlighting them.

Prints the figures; the last line is one JSON object: search_p50_ms, search_p99_ms,
index_mb (what message_search takes on disk: table and indexes), analyse_per_s.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from bench.common import console, private_database, seed, server_version

STATUSES = ("open", "pending", "snoozed", "resolved")
TAGS = ("vip", "refund", "delivery", "billing", "bug", "app")
DAYS = 180
AGENTS = 12


def _texts(datasets: Path, rng: random.Random) -> tuple[list[str], list[str]]:
    """(Korean texts, English texts), distinct, from the shared datasets."""
    korean: list[str] = []
    with open(datasets / "nsmc" / "ratings_train.txt", encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and len(parts[1].strip()) >= 4:
                korean.append(parts[1].strip())
    with open(datasets / "parakqc" / "paraKQC_v1.txt", encoding="utf-8") as f:
        korean += [line.rstrip("\n").split("\t")[-1].strip() for line in f if line.strip()]
    english: list[str] = []
    with open(datasets / "banking77" / "train.csv", encoding="utf-8") as f:
        english += [row["text"].strip() for row in csv.DictReader(f)]
    clinc = json.loads((datasets / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    english += [text.strip() for text, _intent in clinc["train"] + clinc["oos_train"]]
    korean = sorted(set(korean))
    english = sorted(set(english))
    rng.shuffle(korean)
    rng.shuffle(english)
    return korean[:60_000], english


def _analyse(pool: list[str]) -> tuple[list[str], float]:
    """Each text's tsvector literal, as the indexer writes it; and texts per second."""
    from sodam.search.terms import terms_batch, tsvector_literal

    out: list[str] = []
    started = time.perf_counter()
    step = 2_000
    with console.status("analysing the texts (kiwipiepy)") as status:
        for i in range(0, len(pool), step):
            out += [tsvector_literal(t) for t in terms_batch(pool[i : i + step])]
            status.update(f"analysing the texts (kiwipiepy): {len(out):,}/{len(pool):,}")
    return out, len(pool) / (time.perf_counter() - started)


def _load(
    url: str, ws_id: int, inbox_id: int, agent_ids: list[int], team_ids: list[int], n: int, rng, pool, terms
):
    """COPY contacts, conversations, messages and the search index."""
    conversations = max(1, n // 10)
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        first_contact = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM contacts").fetchone()[0]
        first_conv = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM conversations").fetchone()[0]
        first_msg = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM messages").fetchone()[0]
        with conn.cursor() as cur:
            with cur.copy("COPY contacts (id, workspace_id, name, custom_attributes) FROM STDIN") as copy:
                for i in range(conversations):
                    copy.write_row((first_contact + i, ws_id, f"고객 {i}", "{}"))
            # Message counts per conversation: n in total, at least one each.
            counts = [1] * conversations
            for _ in range(n - conversations):
                counts[rng.randrange(conversations)] += 1
            starts = [now - timedelta(days=rng.random() * DAYS) for _ in range(conversations)]
            with cur.copy(
                "COPY conversations (id, workspace_id, inbox_id, contact_id, status, priority, assignee_id,"
                " team_id, tags, last_seq, last_message_at, last_message_preview, created_at, updated_at)"
                " FROM STDIN"
            ) as copy:
                for c in range(conversations):
                    tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2)))
                    last_at = starts[c] + timedelta(minutes=3 * counts[c])
                    copy.write_row(
                        (
                            first_conv + c,
                            ws_id,
                            inbox_id,
                            first_contact + c,
                            rng.choice(STATUSES),
                            "none",
                            rng.choice(agent_ids + [None, None]),
                            rng.choice(team_ids + [None]),
                            "{" + ",".join(tags) + "}",
                            counts[c],
                            last_at,
                            "",
                            starts[c],
                            last_at,
                        )
                    )
            with console.status(f"copying {n:,} messages"):
                search_rows = []
                with cur.copy(
                    "COPY messages (id, workspace_id, conversation_id, inbox_id, seq, direction, kind,"
                    " sender_type, sender_id, content, created_at) FROM STDIN"
                ) as copy:
                    mid = first_msg
                    for c in range(conversations):
                        conv = first_conv + c
                        for seq in range(1, counts[c] + 1):
                            k = rng.randrange(len(pool))
                            roll = rng.random()
                            if roll < 0.55:
                                row = ("incoming", "text", "contact", first_contact + c)
                            elif roll < 0.95:
                                row = ("outgoing", "text", "agent", rng.choice(agent_ids))
                            else:
                                row = ("internal", "note", "agent", rng.choice(agent_ids))
                            at = starts[c] + timedelta(minutes=3 * seq)
                            copy.write_row((mid, ws_id, conv, inbox_id, seq, *row, pool[k], at))
                            search_rows.append((mid, conv, at, k))
                            mid += 1
            conn.execute("SELECT setval('messages_id_seq', %s)", (mid,))
            conn.execute("SELECT setval('conversations_id_seq', %s)", (first_conv + conversations,))
            conn.execute("SELECT setval('contacts_id_seq', %s)", (first_contact + conversations,))
            # The index is built after the load, as CREATE INDEX does it fastest.
            conn.execute("DROP INDEX ix_message_search_terms")
            conn.execute("DROP INDEX ix_message_search_ws_created")
            with console.status(f"copying {len(search_rows):,} index rows"):
                with cur.copy(
                    "COPY message_search (message_id, workspace_id, conversation_id, created_at, terms) FROM STDIN"
                ) as copy:
                    for message_id, conv, at, k in search_rows:
                        copy.write_row((message_id, ws_id, conv, at, terms[k]))
            with console.status("building the search indexes"):
                conn.execute("CREATE INDEX ix_message_search_terms ON message_search USING gin (terms)")
                conn.execute(
                    "CREATE INDEX ix_message_search_ws_created ON message_search"
                    " (workspace_id, created_at DESC, message_id DESC)"
                )
            conn.execute("UPDATE search_index_state SET last_message_id = %s WHERE id = 1", (mid - 1,))
        conn.commit()
        conn.autocommit = True
        with console.status("VACUUM ANALYZE"):
            for table in ("contacts", "conversations", "messages", "message_search"):
                conn.execute(f"VACUUM ANALYZE {table}")


def _queries(rng: random.Random, korean: list[str], english: list[str], count: int) -> list[str]:
    """Short searches like an agent types: one or two words of a real message, Korean as typed
    (a conjugated form) and English in another inflection."""
    from sodam.nlp.text import get_kiwi

    kiwi = get_kiwi()
    out: list[str] = []
    while len(out) < count // 2:
        tokens = [t for t in kiwi.tokenize(rng.choice(korean)) if t.tag in ("NNG", "VV", "VA") and t.len >= 2]
        if tokens:
            picked = rng.sample(tokens, min(len(tokens), rng.choice((1, 1, 2))))
            # The word as it stood in the sentence (e.g. "환불해" for 환불), not the stem.
            out.append(" ".join(t.form + ("어요" if t.tag in ("VV", "VA") else "") for t in picked))
    while len(out) < count:
        words = [w for w in rng.choice(english).lower().split() if len(w) > 3 and w.isalpha()]
        if words:
            out.append(" ".join(rng.sample(words, min(len(words), rng.choice((1, 1, 2))))))
    rng.shuffle(out)
    return out


async def _time_searches(url: str, ws_id: int, inbox_id: int, agent_ids, team_ids, queries, rng, explain=0):
    from sodam.conversations.models import Status
    from sodam.db.session import dispose_engine, init_engine, session_scope
    from sodam.search import service
    from sodam.search.service import Filters

    init_engine(url, pool_size=2)
    now = datetime.now(UTC)
    timings: list[float] = []
    hits_per_query: list[int] = []
    phases: list[dict[str, float]] = []
    try:
        for i, query in enumerate([queries[0]] * 3 + queries):  # three warm-up runs
            f = Filters(
                status=Status(rng.choice(STATUSES)) if rng.random() < 0.5 else None,
                inbox_id=inbox_id if rng.random() < 0.2 else None,
                assignee_id=rng.choice(agent_ids) if rng.random() < 0.3 else None,
                team_id=rng.choice(team_ids) if rng.random() < 0.1 else None,
                tag=rng.choice(TAGS) if rng.random() < 0.2 else None,
                since=now - timedelta(days=30) if rng.random() < 0.3 else None,
            )
            started = time.perf_counter()
            phase: dict[str, float] = {}
            async with session_scope() as session:
                hits, _terms = await service.search(
                    session, workspace_id=ws_id, query=query, filters=f, limit=26, timings=phase
                )
            elapsed = (time.perf_counter() - started) * 1000
            if i >= 3:
                timings.append(elapsed)
                hits_per_query.append(len(hits))
                phases.append(
                    {"query": query, "filters": {k: v for k, v in vars(f).items() if v}, "_f": f, **phase}
                )
        if explain:
            by_find = sorted(phases, key=lambda p: -p.get("find", 0.0))[:explain]
            for p in by_find:
                async with session_scope() as session:
                    terms = await service.analyse(p["query"])
                    stmt = service.statement(
                        workspace_id=ws_id, terms=terms, filters=p["_f"], after=None, limit=26
                    )
                    conn = await session.connection()
                    compiled = stmt.compile(dialect=conn.dialect)
                    plan = await conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params
                    )
                    console.print(
                        f"[bold]plan[/bold] {p['query']!r} {p['filters']} (find {p['find'] * 1000:.0f} ms)"
                    )
                    for (line,) in plan:
                        console.print("   " + line, highlight=False)
    finally:
        await dispose_engine()
    slowest = sorted(range(len(timings)), key=lambda j: -timings[j])[:5]
    for j in slowest:
        p = phases[j]
        parts = ", ".join(f"{k} {v * 1000:.0f}" for k, v in p.items() if isinstance(v, float))
        console.print(f"  slow: {timings[j]:.0f} ms {p['query']!r} {p['filters']} ({parts} ms)")
    for name in ("analyse", "freshen", "find", "load", "highlight"):
        values = [p.get(name, 0.0) * 1000 for p in phases]
        console.print(
            f"  {name:<9} p50 {_percentile(values, 50):6.1f} ms  p99 {_percentile(values, 99):6.1f} ms"
        )
    return timings, hits_per_query


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(*, messages: int = 1_000_000, queries: int = 200, datasets: Path, explain: int = 0) -> dict:
    from sodam.db.migrate import upgrade

    if messages < 10:
        raise SystemExit("--messages must be at least 10")
    rng = random.Random(20261202)
    korean, english = _texts(datasets, rng)
    # Roughly 60 % Korean, 40 % English messages: a pool with that mix.
    pool = korean + english[: int(len(korean) * 0.66)]
    console.print(
        f"text pool: {len(korean):,} Korean + {min(len(english), int(len(korean) * 0.66)):,} English"
    )
    terms, analyse_per_s = _analyse(pool)
    with private_database() as db:
        url = db.url
        with console.status("migrating and seeding"):
            upgrade(url)
            asyncio.run(seed(url))
        with psycopg.connect(url, autocommit=True) as conn:
            ws_id, inbox_id = conn.execute("SELECT workspace_id, id FROM inboxes LIMIT 1").fetchone()
            admin = conn.execute("SELECT id FROM agents WHERE workspace_id = %s", (ws_id,)).fetchone()[0]
            for i in range(AGENTS - 1):
                conn.execute(
                    "INSERT INTO agents (workspace_id, email, name, password_hash, role, locale, is_active,"
                    " session_version) VALUES (%s, %s, %s, 'x', 'agent', 'ko', true, 1)",
                    (ws_id, f"a{i}@bench.test", f"상담원 {i}"),
                )
            for name in ("결제팀", "배송팀", "기술지원"):
                conn.execute("INSERT INTO teams (workspace_id, name) VALUES (%s, %s)", (ws_id, name))
            agent_ids = [
                r[0] for r in conn.execute("SELECT id FROM agents WHERE workspace_id = %s", (ws_id,))
            ]
            team_ids = [r[0] for r in conn.execute("SELECT id FROM teams WHERE workspace_id = %s", (ws_id,))]
        assert admin in agent_ids
        started = time.perf_counter()
        _load(url, ws_id, inbox_id, agent_ids, team_ids, messages, rng, pool, terms)
        load_s = time.perf_counter() - started
        with psycopg.connect(url, autocommit=True) as conn:
            index_bytes = conn.execute("SELECT pg_total_relation_size('message_search')").fetchone()[0]
            messages_bytes = conn.execute("SELECT pg_total_relation_size('messages')").fetchone()[0]
        qs = _queries(rng, korean, english, queries)
        timings, hits = asyncio.run(
            _time_searches(url, ws_id, inbox_id, agent_ids, team_ids, qs, rng, explain=explain)
        )
        version = server_version(url)
    ko = [t for q, t in zip(qs, timings, strict=True) if any("\uac00" <= ch <= "\ud7a3" for ch in q)]
    en = [t for q, t in zip(qs, timings, strict=True) if not any("\uac00" <= ch <= "\ud7a3" for ch in q)]
    result = {
        "bench": "search",
        "messages": messages,
        "conversations": max(1, messages // 10),
        "queries": len(timings),
        "search_p50_ms": round(statistics.median(timings), 1),
        "search_p95_ms": round(_percentile(timings, 95), 1),
        "search_p99_ms": round(_percentile(timings, 99), 1),
        "search_max_ms": round(max(timings), 1),
        "korean_p99_ms": round(_percentile(ko, 99), 1) if ko else None,
        "english_p99_ms": round(_percentile(en, 99), 1) if en else None,
        "queries_with_hits": sum(1 for h in hits if h),
        "index_mb": round(index_bytes / 2**20, 1),
        "messages_table_mb": round(messages_bytes / 2**20, 1),
        "analyse_per_s": round(analyse_per_s),
        "load_s": round(load_s, 1),
        "postgres": version,
        "database": db.kind,
    }
    console.print(
        f"{messages:,} messages: search p50 {result['search_p50_ms']} ms, p95 {result['search_p95_ms']} ms,"
        f" p99 {result['search_p99_ms']} ms (Korean {result['korean_p99_ms']}, English"
        f" {result['english_p99_ms']}); {result['queries_with_hits']}/{len(timings)} queries found something;"
        f" index {result['index_mb']} MB (messages table {result['messages_table_mb']} MB);"
        f" analysis {result['analyse_per_s']:,} texts/s"
    )
    print(json.dumps(result))
    return result
