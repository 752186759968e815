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

Someone else's lock (with `group_key` and `lock_timeout_ms`): the rows of one group (one
conversation) lock the same row, and batches in flight at once never share a group, so a
batch waits for a row lock only when another writer holds it (the bot writing its reply, an
agent's request). Without a bound, every row of the batch would wait with it, and the next
batch behind the rows this one already locked: a whole process's customers waiting for one
conversation's bot. So a batch waits at most `lock_timeout_ms`; then it is rolled back and
its groups commit one transaction each, at once: only the held conversation's rows wait.
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
        group_key: Callable[[Params], Hashable] | None = None,
        lock_timeout_ms: int = 0,
        split_in_flight: int = 4,
        held_group: Callable[[psycopg_pool.AsyncConnectionPool, psycopg.Error], Awaitable[Hashable | None]]
        | None = None,
    ) -> None:
        """`held_group`: which group a lock timeout met (from the error), or None when it
        cannot tell: then that group waits alone and the rest commit together at once;
        otherwise every group commits on its own."""
        self._pool = pool
        self._statement = statement
        self._order_key = order_key
        self._prepare = prepare
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._group_key = group_key
        self._held_group = held_group
        self.lock_timeout_ms = lock_timeout_ms if group_key is not None else 0
        self.split_in_flight = split_in_flight
        self._split_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._pending: list[tuple[Params, asyncio.Future]] = []
        self._in_flight = 0
        # The groups of the batches in flight: a row of one of them waits for the next batch.
        self._owned: dict[Hashable, int] = {}
        self._tasks: set[asyncio.Task] = set()
        self._executing: set[asyncio.Future] = set()
        # Figures for the benchmark: how many transactions carried how many rows; how many
        # batches met someone else's lock and were split.
        self.transactions = 0
        self.rows = 0
        self.lock_timeouts = 0
        self.held_found = 0  # ... of which held_group named the group

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
                batch, groups = self._take()
                if not batch:
                    # Every pending row belongs to a group in flight: that batch's flusher
                    # takes them when it is done.
                    return
                try:
                    await self._commit(batch)
                finally:
                    for key in groups:
                        self._owned[key] -= 1
                        if not self._owned[key]:
                            del self._owned[key]
        finally:
            self._in_flight -= 1

    def _take(self) -> tuple[list[tuple[Params, asyncio.Future]], set[Hashable]]:
        """The next batch: up to max_batch pending rows, none of a group already in flight."""
        if self._group_key is None:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            return batch, set()
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
            self._owned[key] = self._owned.get(key, 0) + 1
        return batch, groups

    async def _commit(self, batch: list[tuple[Params, asyncio.Future]]) -> None:
        if self._order_key is not None and len(batch) > 1:
            batch.sort(key=lambda item: self._order_key(item[0]))
        pool = None
        try:
            pool = await self._pool()
            rows = await self._execute(
                pool, [params for params, _ in batch], lock_timeout_ms=self.lock_timeout_ms
            )
        except psycopg.errors.LockNotAvailable as exc:
            # Someone else holds a row lock of this batch: that group waits on its own, the
            # rest go again at once (and may meet another held group).
            self.lock_timeouts += 1
            held = None
            if self._held_group is not None:
                try:
                    held = await self._held_group(pool, exc)
                except (psycopg.Error, psycopg_pool.PoolTimeout):
                    held = None
            if held is None:
                await self._commit_groups(pool, batch)
                return
            alone = [item for item in batch if self._group_key(item[0]) == held]
            rest = [item for item in batch if self._group_key(item[0]) != held]
            if not alone:
                await self._commit_groups(pool, batch)
                return
            self.held_found += 1
            parts = [self._commit_alone(pool, alone)]
            if rest:
                parts.append(self._commit(rest))
            await asyncio.gather(*parts)
            return
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            if pool is not None and isinstance(exc, psycopg.OperationalError):
                # A database restart kills every pooled connection: drop them all now rather
                # than fail one more batch on each.
                await _drop_dead_connections(pool)
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            log.info("group commit of %d rows failed (%s): one transaction each", len(batch), exc)
            await self._one_by_one(pool, batch)
            return
        except BaseException as exc:  # cancelled at shutdown: nobody must wait forever
            for _, future in batch:
                _settle(future, exc=exc if isinstance(exc, Exception) else RuntimeError("shutting down"))
            raise
        for (_, future), row in zip(batch, rows, strict=True):
            _settle(future, row=row)

    async def _commit_groups(
        self, pool: psycopg_pool.AsyncConnectionPool, batch: list[tuple[Params, asyncio.Future]]
    ) -> None:
        """Each group of the batch in its own transaction (no lock timeout: a held group waits
        for its lock), a few at once; the others commit meanwhile."""
        groups: dict[Hashable, list[tuple[Params, asyncio.Future]]] = {}
        for item in batch:
            groups.setdefault(self._group_key(item[0]), []).append(item)

        loop = asyncio.get_running_loop()
        if self._split_slots is None or self._split_slots[0] is not loop:
            self._split_slots = (loop, asyncio.Semaphore(self.split_in_flight))
        slots = self._split_slots[1]

        async def one(items: list[tuple[Params, asyncio.Future]]) -> None:
            async with slots:
                await self._commit_alone(pool, items)

        await asyncio.gather(*(one(items) for items in groups.values()))

    async def _commit_alone(
        self, pool: psycopg_pool.AsyncConnectionPool, items: list[tuple[Params, asyncio.Future]]
    ) -> None:
        """These rows in one transaction that waits for its locks as long as it takes."""
        try:
            rows = await self._execute(pool, [params for params, _ in items])
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            if len(items) == 1:
                _settle(items[0][1], exc=exc)
                return
            await self._one_by_one(pool, items)
            return
        for (_, future), row in zip(items, rows, strict=True):
            _settle(future, row=row)

    async def _one_by_one(
        self, pool: psycopg_pool.AsyncConnectionPool, items: list[tuple[Params, asyncio.Future]]
    ) -> None:
        """Each row in its own transaction: one bad row fails only its own caller."""
        for params, future in items:
            try:
                (row,) = await self._execute(pool, [params])
            except (psycopg.Error, psycopg_pool.PoolTimeout) as one_exc:
                _settle(future, exc=one_exc)
            else:
                _settle(future, row=row)

    async def _execute(
        self, pool: psycopg_pool.AsyncConnectionPool, params: list[Params], *, lock_timeout_ms: int = 0
    ) -> list[Any]:
        sql, values = self._statement(params)
        done = asyncio.get_running_loop().create_future()
        self._executing.add(done)
        try:
            async with pool.connection() as conn:
                if not conn.autocommit:
                    raise RuntimeError(
                        "group commit needs an autocommit connection: the statement is the transaction"
                    )
                if lock_timeout_ms:
                    # One round trip still (a pipeline): BEGIN, the bound for this transaction
                    # only, the statement, COMMIT.
                    async with conn.pipeline():
                        async with conn.transaction():
                            await conn.execute(
                                "SELECT set_config('lock_timeout', %s, true)", (f"{lock_timeout_ms}ms",)
                            )
                            cur = await conn.execute(sql, values)
                        rows = await cur.fetchall()
                else:
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
