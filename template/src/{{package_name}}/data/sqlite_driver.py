"""SQLAlchemy's aiosqlite dialect, with fewer trips to aiosqlite's thread.

aiosqlite runs each connection in a thread of its own, and every driver call is a trip to it and
back: a wake-up of that thread and one of the event loop, as costly as the statement itself for
the short reads and writes of an API. SQLAlchemy's adapter makes four trips per statement (open
a cursor, execute, fetch the rows, close the cursor) and one more for each of the two rollbacks
it sends when a request's session closes. `LeanAiosqliteDialect` keeps to what has an effect:

- a statement is one trip, two when it returns rows: aiosqlite's `Connection.execute` opens the
  cursor and executes in one, and the cursor is never closed by another. Once its rows are
  fetched it holds no statement (SQLite resets one whose rows have run out), so closing it
  would release nothing;
- a rollback is sent only when a transaction is open: after a read or a commit there is none
  (the driver begins one for a write only), which `in_transaction` tells without a trip.

A get is then two trips instead of six, a create (insert and commit) three instead of six. The
adapter's other behaviour is SQLAlchemy's own, and `tests/test_database.py` counts the trips.
"""

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.pool import PoolProxiedConnection


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement in one trip, its rows in a second; no trip to open or close the cursor."""

    __slots__ = ()

    def _make_new_cursor(self, connection: Any) -> Any:
        return None  # the statement's own trip opens it (`_execute_async`)

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else self._cursor.rowcount

    @property
    def lastrowid(self) -> Any:
        return None if self._cursor is None else self._cursor.lastrowid

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._cursor = await self._connection.execute(operation, parameters)
            if self._cursor.description:
                self._rows = deque(await self._cursor.fetchall())
            return self._cursor

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._cursor = await self._connection.executemany(operation, seq_of_parameters)
            return self._cursor

    async def _async_soft_close(self) -> None:
        """Nothing to release: the rows are fetched, and the cursor holds no statement."""

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        return OneTripConnection(self, super().connect(*arg, **kw)._connection)


class LeanAiosqliteDialect(SQLiteDialect_aiosqlite):
    """aiosqlite with fewer trips to its thread: one per statement (two with rows), and no
    rollback when no transaction is open (the module's docstring says why either is safe)."""

    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return OneTripDBAPI(aiosqlite, sqlite3)

    def do_rollback(self, dbapi_connection: PoolProxiedConnection) -> None:
        driver = dbapi_connection.driver_connection
        try:
            open_transaction = driver is None or driver.in_transaction
        except (ValueError, sqlite3.Error):  # closed: the driver's own rollback reports it
            open_transaction = True
        if open_transaction:
            super().do_rollback(dbapi_connection)


# Registered under a name of its own; `create_engine` (data/database.py) swaps it in for
# `sqlite+aiosqlite`.
LEAN_DRIVER = "sqlite+aiosqlite_lean"
registry.register("sqlite.aiosqlite_lean", __name__, LeanAiosqliteDialect.__name__)
