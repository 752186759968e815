"""Group commit: many callers' single-statement writes share one transaction.

A commit costs a WAL flush, and a transaction that sends a NOTIFY holds a global
lock through its commit, so one message per transaction caps the message path at
the disk's commit rate. Here each caller awaits its own row as before, but while
a batch is committing the next callers queue up and go together in the next one:
a lone caller still commits alone at once (no waiting for company), and under
load a batch carries everything that arrived during the previous commit.

Acknowledgement still follows commit: a caller's future resolves only after the
COMMIT of the transaction that holds its row. If a batch fails (a deadlock, one
caller's bad row), its statements are retried one per transaction, so one bad
row fails only its own caller. That retry is safe only for idempotent statements
(ours are keyed by client id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

import psycopg
import psycopg_pool

log = logging.getLogger(__name__)

Params = Mapping[str, Any]
SETTLE_WAIT_S = 0.1  # never hold the fan-out longer than this for a cache


BatchStatement = Callable[[list[Params]], tuple[str, Params]]


class GroupCommitter:
    """Runs one write per caller for concurrent callers, several per transaction.

    `statement` turns a batch of callers' parameters into one SQL statement that
    returns one row per caller, in order; on an autocommit connection that statement
    is the transaction, so a batch costs one round trip. `order_key` sorts a batch so
    that every batch takes its row locks in the same order: two batches then never
    wait on each other in a cycle. `prepare` turns a row into what its caller gets
    (it must not fail).
    """

    def __init__(
        self,
        pool: Callable[[], Awaitable[psycopg_pool.AsyncConnectionPool]],
        statement: BatchStatement,
        *,
        order_key: Callable[[Params], Hashable] | None = None,
        prepare: Callable[[tuple[Any, ...]], Any] | None = None,
        max_batch: int = 64,
        max_in_flight: int = 2,
    ) -> None:
        self._pool = pool
        self._statement = statement
        self._order_key = order_key
        self._prepare = prepare
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._pending: list[tuple[Params, asyncio.Future]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task] = set()
        self._executing: set[asyncio.Future] = set()
        # Figures for the benchmark: how many transactions carried how many rows.
        self.transactions = 0
        self.rows = 0

    async def run(self, params: Params) -> Any:
        """The statement's row for `params` (through `prepare`), once its transaction has committed."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((params, future))
        if self._in_flight < self.max_in_flight:
            self._in_flight += 1
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # A caller that goes away does not cancel the write: the flusher owns it now.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                await self._commit(batch)
        finally:
            self._in_flight -= 1

    async def _commit(self, batch: list[tuple[Params, asyncio.Future]]) -> None:
        if self._order_key is not None and len(batch) > 1:
            batch.sort(key=lambda item: self._order_key(item[0]))
        pool = None
        try:
            pool = await self._pool()
            rows = await self._execute(pool, [params for params, _ in batch])
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            if pool is not None and isinstance(exc, psycopg.OperationalError):
                # A database restart kills every pooled connection: drop them all now rather
                # than fail one more batch on each.
                await _drop_dead_connections(pool)
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            log.info("group commit of %d rows failed (%s): one transaction each", len(batch), exc)
            for params, future in batch:
                try:
                    (row,) = await self._execute(pool, [params])
                except (psycopg.Error, psycopg_pool.PoolTimeout) as one_exc:
                    _settle(future, exc=one_exc)
                else:
                    _settle(future, row=row)
            return
        except BaseException as exc:  # cancelled at shutdown: nobody must wait forever
            for _, future in batch:
                _settle(future, exc=exc if isinstance(exc, Exception) else RuntimeError("shutting down"))
            raise
        for (_, future), row in zip(batch, rows, strict=True):
            _settle(future, row=row)

    async def _execute(self, pool: psycopg_pool.AsyncConnectionPool, params: list[Params]) -> list[Any]:
        sql, values = self._statement(params)
        done = asyncio.get_running_loop().create_future()
        self._executing.add(done)
        try:
            async with pool.connection() as conn:
                if not conn.autocommit:
                    raise RuntimeError(
                        "group commit needs an autocommit connection: the statement is the transaction"
                    )
                rows = await (await conn.execute(sql, values)).fetchall()
            if len(rows) != len(params):
                raise RuntimeError(f"batch statement returned {len(rows)} rows for {len(params)} callers")
            self.transactions += 1
            self.rows += len(rows)
            return [self._prepare(row) for row in rows] if self._prepare is not None else rows
        finally:
            self._executing.discard(done)
            done.set_result(None)

    async def settled(self) -> None:
        """Wait until the batches executing now have run `prepare` on their rows.

        A commit's NOTIFY can reach this process's listener before the commit's own
        result reaches the committer; a listener that wants what `prepare` cached
        waits here instead of reading the row back from the database."""
        if self._executing:
            await asyncio.wait(list(self._executing), timeout=SETTLE_WAIT_S)


async def _drop_dead_connections(pool: psycopg_pool.AsyncConnectionPool) -> None:
    try:
        await asyncio.wait_for(pool.check(), timeout=5)
    except Exception:  # the database may still be down: the next batch fails on its own
        log.info("could not check the pool's connections", exc_info=True)


def _settle(future: asyncio.Future, *, row: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(row)
