"""The search indexer: analyses committed messages in batches, off the message path.

A periodic job (search/tasks.py, every 10 s) and every search (for freshness) call
catch_up(). One indexer at a time across processes (an advisory lock; the others skip).
It reads the messages after its high-water mark — and, in a window behind the mark, any
message not indexed yet, because ids are taken at insert but rows become visible at
commit, so a slow transaction's message can appear after a later id was indexed. Kiwi
runs in a worker thread; the rows are then written after checking, under a share lock,
that each message's text is still the text analysed (a redaction that raced the
analysis wins: its trigger deletes the row, or the row is never written).
"""

from __future__ import annotations

import logging
import time

from sodam.db.session import raw_pool
from sodam.jobs.cpu import map_chunks
from sodam.search.terms import terms_batch, tsvector_literal

log = logging.getLogger(__name__)

LOCK_KEY = "sodam.search_index"
# How far behind the mark to look for messages committed late.
LOOKBACK_IDS = 20_000
BATCH = 1_000

_PENDING_SQL = """
SELECT m.id, m.workspace_id, m.conversation_id, m.created_at, m.content, m.kind::text
  FROM messages m
 WHERE m.id > %(low)s
   AND NOT EXISTS (SELECT 1 FROM message_search s WHERE s.message_id = m.id)
 ORDER BY m.id
 LIMIT %(limit)s
"""

_WRITE_SQL = """
INSERT INTO message_search (message_id, workspace_id, conversation_id, created_at, terms)
SELECT m.id, m.workspace_id, m.conversation_id, m.created_at, b.terms::tsvector
  FROM unnest(%(ids)s::bigint[], %(contents)s::text[], %(terms)s::text[]) AS b(id, content, terms)
  JOIN messages m ON m.id = b.id AND m.content = b.content
ON CONFLICT (message_id) DO NOTHING
"""


async def _try_lock(conn) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,))
    return bool((await cur.fetchone())[0])


# max(id) is one step down the primary key's index: a constant cost however big the table
# (an EXISTS over "id > (subquery)" may be planned as a scan of the whole table).
_NEWER_SQL = (
    "SELECT coalesce((SELECT max(id) FROM messages), 0)"
    " > (SELECT last_message_id FROM search_index_state WHERE id = 1)"
)


async def _wait_for_lock(conn, timeout_ms: int) -> bool:
    """Wait (at most timeout_ms) for the indexer running elsewhere to finish its batch."""
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{int(timeout_ms)}ms'")
            await conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCK_KEY,))
        return True
    except Exception:  # lock_timeout: the other indexer is slow; search with what is indexed
        return False


async def catch_up(
    *,
    limit: int = BATCH,
    max_seconds: float = 0.0,
    lookback: int = LOOKBACK_IDS,
    wait_ms: int = 0,
) -> int:
    """Index messages not indexed yet (up to `limit` per batch, more batches while under
    `max_seconds`); returns how many were indexed, 0 when another process is at it.

    With lookback=0 (what a search does first) only messages after the mark are looked
    for, and when there are none that costs one index probe; the periodic run also looks
    `lookback` ids behind the mark for messages that were committed late."""
    pool = await raw_pool()
    done = 0
    started = time.monotonic()
    async with pool.connection() as conn:
        if not lookback and not (await (await conn.execute(_NEWER_SQL)).fetchone())[0]:
            return 0
        # A search (wait_ms > 0) waits for an indexer running elsewhere rather than skip: that
        # one may have read the batch before the searcher's newest message committed.
        if not await _try_lock(conn) and not (wait_ms and await _wait_for_lock(conn, wait_ms)):
            return 0
        try:
            while True:
                n = await _one_batch(conn, limit, lookback)
                done += n
                if n < limit or time.monotonic() - started >= max_seconds:
                    break
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (LOCK_KEY,))
    return done


async def _one_batch(conn, limit: int, lookback: int) -> int:
    cur = await conn.execute("SELECT last_message_id FROM search_index_state WHERE id = 1")
    row = await cur.fetchone()
    mark = int(row[0]) if row else 0
    cur = await conn.execute(_PENDING_SQL, {"low": max(0, mark - lookback), "limit": limit})
    rows = await cur.fetchall()
    if not rows:
        return 0
    contents = [r[4] for r in rows]
    # System lines ("assigned to …") are indexed with no terms: never found, never re-read.
    # Kiwi is CPU work: off the event loop, yielding to it (the worker may share the web
    # server's process, jobs/cpu.py).
    analysed = await map_chunks(terms_batch, ["" if r[5] == "system" else r[4] for r in rows])
    ids = [r[0] for r in rows]
    async with conn.transaction():
        # Share-lock the rows: a redaction (UPDATE of content) waits for this commit, then
        # its trigger removes what was written; a text that already changed is skipped.
        await conn.execute("SELECT 1 FROM messages WHERE id = ANY(%s) FOR SHARE", (ids,))
        await conn.execute(
            _WRITE_SQL,
            {"ids": ids, "contents": contents, "terms": [tsvector_literal(t) for t in analysed]},
        )
        await conn.execute(
            "UPDATE search_index_state SET last_message_id = GREATEST(last_message_id, %s),"
            " updated_at = now() WHERE id = 1",
            (max(ids),),
        )
    return len(rows)


async def pending_count() -> int:
    """Messages not in the index yet (for `sodam search status` and tests)."""
    pool = await raw_pool()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM messages m"
            " WHERE NOT EXISTS (SELECT 1 FROM message_search s WHERE s.message_id = m.id)"
        )
        return int((await cur.fetchone())[0])
