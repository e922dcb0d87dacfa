"""The connection pool: SQLAlchemy's async queue pool, without its churn under a steady load,
and serving the requests that wait for a connection in the order they came.

SQLAlchemy's `QueuePool` closes a connection beyond `pool_size` as soon as it is returned to a
pool that holds `pool_size` idle ones. Under a load that hovers about the pool size, that is a
connect for every few requests (asyncpg's connect is several ms, and a new backend process on
the server): the template's CRUD benchmark counted 10.8 to 12.5 connections opened per 100
requests with pools of 5 + 10 and 32 clients. This pool keeps such a connection aside instead,
for the next request that finds the pool empty, as long as the load needed more than
`pool_size` connections within the last `overflow_idle_seconds`. Once the load has stayed within
the pool that long, the connections kept aside are closed, one at each return. The number of
connections stays bounded by `pool_size + max_overflow`.

At its bound, SQLAlchemy's async queue wakes the longest waiting request when a connection comes
back, but a request arriving before that one runs takes the connection first, and the one
woken goes back to the end of the line: under a steady load some requests waited for many
turns. In the CRUD benchmark the p99 of a page of 50 was 1.4x to 1.7x the conventional
service's on SQLite and 1.3x to 1.8x on PostgreSQL (with read sessions, data/database.py),
against 0.2x to 0.4x in arrival order, at the same throughput or better. `ArrivalOrderQueue`
hands a returned connection to the longest waiting request directly.

No library offers either for SQLAlchemy; the subclass and its queue change where a returned
connection goes and nothing else (docs/database.md, "Pool").
"""

import asyncio
import time
from collections import deque
from typing import Any, cast

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_, in_greenlet
from sqlalchemy.util.queue import Empty, Full, QueueCommon


class ArrivalOrderQueue(QueueCommon[ConnectionPoolEntry]):
    """The pool's idle connections; a connection returned while requests wait goes to the one
    that has waited longest, and a request finds none idle while others wait before it."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._idle: deque[ConnectionPoolEntry] = deque()
        self._waiting: deque[asyncio.Future[ConnectionPoolEntry]] = deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._idle)

    def qsize(self) -> int:
        return len(self._idle)

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        if self._handed_to_a_waiter(item):
            return
        if self.full():
            raise Full
        self._idle.append(item)

    def _handed_to_a_waiter(self, item: ConnectionPoolEntry) -> bool:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled is skipped
                waiter.set_result(item)
                return True
        return False

    def put(self, item: ConnectionPoolEntry, block: bool = True, timeout: Any = None) -> None:
        self.put_nowait(item)  # the pool never waits to return a connection

    def get_nowait(self) -> ConnectionPoolEntry:
        if not self._idle:
            raise Empty
        return self._idle.pop() if self.use_lifo else self._idle.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> ConnectionPoolEntry:
        if self._idle or not block:
            return self.get_nowait()
        # In line only once `_wait` runs: called outside a greenlet, `await_` raises before.
        return await_(self._wait(timeout))

    async def _wait(self, seconds: float | None) -> ConnectionPoolEntry:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                return await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return waiter.result()  # handed over as the time ran out: it is this one's
            raise Empty from None
        except BaseException:
            # Cancelled after a connection was handed over: it goes to the next in line, or
            # back among the idle ones even past `maxsize` (the pool counts it within its bound
            # already, and closing it here, outside a greenlet, is not possible).
            if waiter.done() and not waiter.cancelled():
                item = waiter.result()
                if not self._handed_to_a_waiter(item):
                    self._idle.append(item)
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            # A waiter handed a connection is out of line already: no search for it.
            if waiter.cancelled() and waiter in self._waiting:
                self._waiting.remove(waiter)


class OverflowKeepingPool(AsyncAdaptedQueuePool):
    _queue_class = ArrivalOrderQueue
    # Replaced by the tests, which move time on without waiting for it.
    clock = staticmethod(time.monotonic)

    # A named parameter, not keyword-only: `create_engine` passes a pool the arguments it finds
    # in the signature, so `overflow_idle_seconds=` can be given to `create_async_engine`.
    def __init__(self, creator: Any, overflow_idle_seconds: float = 60.0, **kwargs: Any) -> None:
        super().__init__(creator, **kwargs)
        self.overflow_idle_seconds = overflow_idle_seconds
        self._kept: deque[ConnectionPoolEntry] = deque()
        self._needed_at = float("-inf")  # when more than `pool_size` were last in use

    def _do_get(self) -> ConnectionPoolEntry:
        if self._kept and self._pool.empty():
            return self._take_kept()
        # None is kept while a request waits: a returned connection goes to the request.
        record = super()._do_get()
        if self.checkedout() > self.size():
            self._needed_at = self.clock()
        return record

    def _take_kept(self) -> ConnectionPoolEntry:
        self._needed_at = self.clock()
        return self._kept.pop()

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        needed = self.clock() - self._needed_at < self.overflow_idle_seconds
        if needed and self._pool.full():
            self._kept.append(record)
            return
        # The returned connection is home first: a cancellation while another one closes
        # must not lose it (the pool would count it as in use for ever).
        super()._do_return_conn(record)  # into the pool, or closed if it is full
        # One kept connection closed per return spreads the closes' round trips over requests.
        # Not from a garbage-collected checkout (no greenlet): SQLAlchemy keeps that path
        # free of I/O, and a graceful close is I/O.
        if not needed and self._kept and in_greenlet():
            self._close(self._kept.popleft())

    def _close(self, record: ConnectionPoolEntry) -> None:
        try:
            record.close()
        finally:
            self._dec_overflow()

    def dispose(self) -> None:
        while self._kept:
            self._close(self._kept.pop())
        super().dispose()

    def recreate(self) -> "OverflowKeepingPool":
        # SQLAlchemy's copy carries the settings it knows of; this one is ours.
        pool = cast("OverflowKeepingPool", super().recreate())
        pool.overflow_idle_seconds = self.overflow_idle_seconds
        return pool

    def checkedin(self) -> int:
        return super().checkedin() + len(self._kept)

    def checkedout(self) -> int:
        return super().checkedout() - len(self._kept)
