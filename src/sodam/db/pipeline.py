"""A transaction's last writes and its COMMIT in one round trip (psycopg's pipeline mode).

A background job that holds a row lock (the bot's handoff holds its conversation's) runs at a
lower CPU priority than the web server, and shares its event loop with other jobs: between
two of its statements it waited for the loop and for a core (sodam bench messages: the job
worker's loop lag p50 ~8 ms, p90 ~27 ms), while the visitor's next message waited for the row.
Sent together, the statements and the COMMIT reach the server at once, and the server ends
the transaction — and frees the row — without waiting for the job again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession


async def commit_in_one_round_trip(
    session: AsyncSession, statements: Sequence[tuple[TextClause, dict[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """Run `statements` (text() with bind parameters of plain values: the driver adapts them)
    in order on the session's connection, then COMMIT, in one round trip; each statement's
    rows, in order. The session must have nothing left to flush that should be committed: the
    transaction is over when this returns (the session's own COMMIT then finds nothing to do).
    An error rolls the whole transaction back and is raised."""
    connection = await session.connection()
    dialect = connection.dialect
    raw = (await connection.get_raw_connection()).driver_connection
    compiled = [statement.compile(dialect=dialect) for statement, _ in statements]
    cursors = []
    try:
        async with raw.pipeline():
            for (_, params), sql in zip(statements, compiled, strict=True):
                cursor = raw.cursor()
                await cursor.execute(str(sql), sql.construct_params(params))
                cursors.append(cursor)
            await raw.commit()  # queued after the statements; the one sync of the pipeline
    except BaseException:
        await session.rollback()
        raise
    rows = []
    for cursor in cursors:
        rows.append(await cursor.fetchall() if cursor.description is not None else [])
        await cursor.close()
    return rows
