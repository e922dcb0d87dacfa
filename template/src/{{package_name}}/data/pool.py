"""The connection pool: SQLAlchemy's async queue pool, without its churn under a steady load.

SQLAlchemy's `QueuePool` closes a connection beyond `pool_size` as soon as it is returned to a
pool that holds `pool_size` idle ones. Under a load that hovers about the pool size, that is a
connect for every few requests (asyncpg's connect is several ms, and a new backend process on
the server): the template's CRUD benchmark counted 10.8 to 12.5 connections opened per 100
requests with pools of 5 + 10 and 32 clients. This pool keeps such a connection aside instead,
for the next request that finds the pool empty, as long as the load needed more than
`pool_size` connections within the last `overflow_idle_seconds`. Once the load has stayed within
the pool that long, the connections kept aside are closed, one at each return. The number of
connections stays bounded by `pool_size + max_overflow`.

No library offers this for SQLAlchemy, and SQLAlchemy's pool has no idle timeout; the subclass
changes where a returned connection goes and nothing else (docs/database.md, "Pool").
"""

import time
from collections import deque
from typing import Any, cast

from sqlalchemy import exc
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util.concurrency import in_greenlet


class OverflowKeepingPool(AsyncAdaptedQueuePool):
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
        try:
            record = super()._do_get()
        except exc.TimeoutError:
            # Connections returned in one loop iteration can fill the queue before the waiters
            # they woke have taken theirs, so one may have been kept while this request waited:
            # it is free, as the connection SQLAlchemy's pool would have opened here is.
            if self._kept:
                return self._take_kept()
            raise
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
