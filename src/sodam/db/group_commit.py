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

`after_commit` (optional) turns a transaction's rows into a second statement run on the same
connection once the first has committed, before any caller is answered: the message path
sends its NOTIFYs there, since a transaction that notifies holds PostgreSQL's notify lock
through its WAL flush and so would serialise every notifying commit (migration 0045). `prepare`
has run on the rows before it is sent, so what it keeps for this process is there before this
process's listener hears of them. If it fails, the rows stay committed and their callers get
them; the failure is logged.

Someone else's row lock (`group_key`, `is_busy`, `waiting_statement`): the rows of one group
lock the same row (a conversation). A batch must not wait for a row another writer holds
(the bot writing its reply, routing): every row of the batch would wait with it, and the
process's whole message path behind it. So the statement skips a held row (SKIP LOCKED) and
returns a busy result for the rows that need it; those rows then commit on their own with
`waiting_statement`, which waits for the row, while the next batches go on. A group is in at
most one batch (or wait) at a time, so a group's rows commit in the order they came.
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


BatchStatement = Callable[[list[Params]], tuple[str, Params]]
# A committed transaction's raw rows -> the statement to run after it, or None.
BatchFollowUp = Callable[[list[tuple[Any, ...]]], tuple[str, Params] | None]
_BUSY = object()  # a row's result when its group's row was held by someone else


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
        group_key: Callable[[Params], Hashable] | None = None,
        is_busy: Callable[[tuple[Any, ...]], bool] | None = None,
        waiting_statement: BatchStatement | None = None,
        max_waiting: int = 4,
        after_commit: BatchFollowUp | None = None,
    ) -> None:
        """`group_key`, `is_busy` (on a raw row, before `prepare`) and `waiting_statement`
        go together: see the module's note. At most `max_waiting` groups wait at once (each
        holds a connection)."""
        if (group_key is None) != (is_busy is None) or (is_busy is None) != (waiting_statement is None):
            raise ValueError("group_key, is_busy and waiting_statement go together")
        self._pool = pool
        self._statement = statement
        self._order_key = order_key
        self._prepare = prepare
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._group_key = group_key
        self._is_busy = is_busy
        self._waiting_statement = waiting_statement
        self.max_waiting = max_waiting
        self._after_commit = after_commit
        self._waiting_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._pending: list[tuple[Params, asyncio.Future]] = []
        # Groups in a batch in flight or waiting for their row: their next rows stay pending.
        self._owned: dict[Hashable, int] = {}
        self._in_flight = 0
        self._tasks: set[asyncio.Task] = set()
        # Figures for the benchmark: how many transactions carried how many rows; how many
        # groups met a row someone else held.
        self.transactions = 0
        self.rows = 0
        self.busy_groups = 0

    async def run(self, params: Params) -> Any:
        """The statement's row for `params` (through `prepare`), once its transaction has committed."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((params, future))
        self._kick()
        # A caller that goes away does not cancel the write: the flusher owns it now.
        return await asyncio.shield(future)

    def _kick(self) -> None:
        if self._pending and self._in_flight < self.max_in_flight:
            self._in_flight += 1
            self._spawn(self._flush())

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._take()
                if not batch:
                    return  # every pending row's group is in flight: its owner kicks again
                await self._commit(batch)
        finally:
            self._in_flight -= 1

    def _take(self) -> list[tuple[Params, asyncio.Future]]:
        """The next batch: up to max_batch pending rows, none of a group owned elsewhere."""
        if self._group_key is None:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            return batch
        batch, rest, groups = [], [], set()
        for item in self._pending:
            key = self._group_key(item[0])
            if len(batch) < self.max_batch and (key in groups or key not in self._owned):
                batch.append(item)
                groups.add(key)
            else:
                rest.append(item)
        self._pending = rest
        for key in groups:
            self._own(key)
        return batch

    def _own(self, key: Hashable) -> None:
        self._owned[key] = self._owned.get(key, 0) + 1

    def _release(self, keys) -> None:
        for key in keys:
            self._owned[key] -= 1
            if not self._owned[key]:
                del self._owned[key]
        self._kick()

    async def _commit(self, batch: list[tuple[Params, asyncio.Future]]) -> None:
        groups = {self._group_key(params) for params, _ in batch} if self._group_key is not None else set()
        waiting: set[Hashable] = set()
        try:
            waiting = await self._commit_batch(batch)
        finally:
            self._release(groups - waiting)

    async def _commit_batch(self, batch: list[tuple[Params, asyncio.Future]]) -> set[Hashable]:
        """Commit the batch; returns the groups left waiting for their row (still owned)."""
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
                return set()
            log.info("group commit of %d rows failed (%s): one transaction each", len(batch), exc)
            for params, future in batch:
                try:
                    (row,) = await self._execute(pool, [params], statement=self._waiting_statement)
                except (psycopg.Error, psycopg_pool.PoolTimeout) as one_exc:
                    _settle(future, exc=one_exc)
                else:
                    _settle(future, row=row)
            return set()
        except BaseException as exc:  # cancelled at shutdown: nobody must wait forever
            for _, future in batch:
                _settle(future, exc=exc if isinstance(exc, Exception) else RuntimeError("shutting down"))
            raise
        busy: dict[Hashable, list[tuple[Params, asyncio.Future]]] = {}
        for item, row in zip(batch, rows, strict=True):
            if row is _BUSY:
                busy.setdefault(self._group_key(item[0]), []).append(item)
            else:
                _settle(item[1], row=row)
        for key, items in busy.items():
            self.busy_groups += 1
            self._spawn(self._commit_waiting(pool, key, items))
        return set(busy)

    async def _commit_waiting(
        self,
        pool: psycopg_pool.AsyncConnectionPool,
        key: Hashable,
        items: list[tuple[Params, asyncio.Future]],
    ) -> None:
        """One group's rows in one transaction that waits for their row as long as it takes."""
        loop = asyncio.get_running_loop()
        if self._waiting_slots is None or self._waiting_slots[0] is not loop:
            self._waiting_slots = (loop, asyncio.Semaphore(self.max_waiting))
        try:
            async with self._waiting_slots[1]:
                for params, future in items:  # one transaction each: one bad row fails only its caller
                    try:
                        (row,) = await self._execute(pool, [params], statement=self._waiting_statement)
                    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                        _settle(future, exc=exc)
                    else:
                        _settle(future, row=row)
        except BaseException as exc:  # cancelled at shutdown
            for _, future in items:
                _settle(future, exc=exc if isinstance(exc, Exception) else RuntimeError("shutting down"))
            raise
        finally:
            self._release([key])

    async def _execute(
        self,
        pool: psycopg_pool.AsyncConnectionPool,
        params: list[Params],
        *,
        statement: BatchStatement | None = None,
    ) -> list[Any]:
        """The statement's rows for these params (`statement`: another one than the batch's),
        through `prepare`; _BUSY for a row `is_busy` says met someone else's lock."""
        sql, values = (statement or self._statement)(params)
        async with pool.connection() as conn:
            if not conn.autocommit:
                raise RuntimeError(
                    "group commit needs an autocommit connection: the statement is the transaction"
                )
            rows = await (await conn.execute(sql, values)).fetchall()
            if len(rows) != len(params):
                raise RuntimeError(f"batch statement returned {len(rows)} rows for {len(params)} callers")
            # `prepare` runs before the NOTIFYs go out: whatever it keeps for this process's
            # listener is there before the listener can hear of the rows.
            out = [self._out(row) for row in rows]
            if self._after_commit is not None:
                await self._follow_up(conn, rows)
        self.transactions += 1
        self.rows += len(rows)
        return out

    async def _follow_up(self, conn: psycopg.AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
        follow_up = self._after_commit(rows)
        if follow_up is None:
            return
        try:
            await conn.execute(*follow_up)
        except psycopg.Error:
            log.warning("the statement after a committed batch of %d rows failed", len(rows), exc_info=True)

    def _out(self, row: tuple[Any, ...]) -> Any:
        if self._is_busy is not None and self._is_busy(row):
            return _BUSY
        return self._prepare(row) if self._prepare is not None else row


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
