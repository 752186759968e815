"""db.pipeline: a transaction's last writes and its COMMIT reach PostgreSQL in one round trip,
and an error among them rolls the whole transaction back."""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest
from sqlalchemy import text

from sodam.db.pipeline import commit_in_one_round_trip
from sodam.db.session import session_scope


async def _table(db) -> str:
    name = f"pipe_{uuid.uuid4().hex[:8]}"
    async with session_scope() as session:
        await session.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY, note text)"))
    return name


async def _rows(name: str) -> list[tuple]:
    async with session_scope() as session:
        return [tuple(r) for r in await session.execute(text(f"SELECT id, note FROM {name} ORDER BY id"))]


def _sent_before_the_first_sync(trace_path: str) -> list[str]:
    """The statements the client sent before its first Sync (libpq's protocol trace): the ones
    the server runs before the client waits for anything."""
    sent = []
    with open(trace_path, encoding="utf-8", errors="replace") as trace:
        for line in trace:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "F" and fields[2] == "Sync":
                return sent
            if fields[0] == "F" and fields[2] == "Parse":
                sent.append(fields[3].split('"')[3].split(" ")[0])
    return sent


async def test_the_statements_and_the_commit_go_in_one_round_trip(db):
    name = await _table(db)
    fd, trace_path = tempfile.mkstemp(suffix=".trace")
    try:
        async with session_scope() as session:
            # A lock taken first, as the bot's handoff takes its conversation's row.
            await session.execute(text(f"LOCK TABLE {name} IN ROW EXCLUSIVE MODE"))
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            raw.pgconn.trace(fd)
            raw.pgconn.set_trace_flags(1)  # PQTRACE_SUPPRESS_TIMESTAMPS
            try:
                rows = await commit_in_one_round_trip(
                    session,
                    [
                        (text(f"INSERT INTO {name} VALUES (:id, :note)"), {"id": 1, "note": "하나"}),
                        (
                            text(f"INSERT INTO {name} VALUES (:id, :note) RETURNING id, note"),
                            {"id": 2, "note": "50%"},
                        ),
                        (text(f"UPDATE {name} SET note = note || :tail WHERE id = 1"), {"tail": "!"}),
                    ],
                )
            finally:
                raw.pgconn.untrace()
            # The session goes on after the commit (its own COMMIT finds nothing to do).
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        # The three statements and the COMMIT, all sent before the client waited once.
        assert _sent_before_the_first_sync(trace_path) == ["INSERT", "INSERT", "UPDATE", "COMMIT"]
        assert rows == [[], [(2, "50%")], []]
        assert await _rows(name) == [(1, "하나!"), (2, "50%")]  # committed: seen by another session
    finally:
        os.close(fd)
        os.unlink(trace_path)


async def test_an_error_rolls_the_whole_transaction_back(db):
    name = await _table(db)
    async with session_scope() as session:
        await session.execute(text(f"INSERT INTO {name} VALUES (1, 'before')"))
        with pytest.raises(Exception, match="duplicate key"):
            await commit_in_one_round_trip(
                session,
                [
                    (text(f"INSERT INTO {name} VALUES (:id, 'kept?')"), {"id": 2}),
                    (text(f"INSERT INTO {name} VALUES (:id, 'twice')"), {"id": 1}),
                    (text(f"INSERT INTO {name} VALUES (:id, 'after')"), {"id": 3}),
                ],
            )
        # The session can be used again at once.
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
    assert await _rows(name) == []
