"""SQLAlchemy's aiosqlite dialect, with one trip to the driver's thread per statement.

aiosqlite runs each connection in a thread of its own, and every driver call is a trip there
and back: a hand-over through a queue, a wake-up of the event loop, the GIL changing hands.
Through SQLAlchemy's adapter a statement is four trips (open a cursor, execute, fetch, close
the cursor), and the pool adds rollbacks that have nothing to undo. Here:

- a statement is one trip: the cursor is opened, executed, read to the end and closed on the
  connection's thread, and what SQLAlchemy reads afterwards (rows, description, row count,
  last row id) comes back with it. A get through a session took 250 µs of CPU instead of 330
  (docs/database.md);
- a rollback with no transaction open is skipped (after a read or a commit; the driver begins
  a transaction for a write only), as the driver tells without a trip.

The trip is aiosqlite's own queue to its thread (`Connection._execute`), which SQLAlchemy's
adapter also reaches into; `tests/test_database.py` counts the trips, so an aiosqlite release
that changes it fails there. Server-side cursors (`stream()`) keep SQLAlchemy's own cursor: they
fetch in batches by design.
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
from sqlalchemy.util.concurrency import await_

# What a statement leaves for SQLAlchemy to read: description, rows, row count, last row id.
Outcome = tuple[Any, list[Any], int, int | None]


def _execute_on_thread(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement in one trip to the connection's thread, its rows read there."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    _awaitable_cursor_close = False  # nothing is open on the thread between statements

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = deque()
        self._description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, many=True)

    def close(self) -> None:
        self._rows.clear()

    def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        try:
            outcome = await_(self._trip(operation, parameters, many))
        except Exception as error:  # noqa: BLE001 - translated to the DBAPI's errors, as stock
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = deque(rows)

    async def _trip(self, operation: str, parameters: Any, many: bool) -> Outcome:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            # `_conn` is read on the thread: a closed connection fails there, as the driver's own
            # calls do, and the error comes back through the same path.
            return await driver._execute(
                lambda: _execute_on_thread(driver._conn, operation, parameters, many)
            )


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> OneTripConnection:
        stock = super().connect(*args, **kwargs)
        return OneTripConnection(self, stock._connection)


class LeanAiosqliteDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(aiosqlite, sqlite3)

    def do_rollback(self, dbapi_connection: PoolProxiedConnection) -> None:
        driver = dbapi_connection.driver_connection
        try:
            open_transaction = driver is None or driver.in_transaction
        except (ValueError, sqlite3.Error):  # closed: the driver's own rollback reports it
            open_transaction = True
        if open_transaction:
            super().do_rollback(dbapi_connection)


# Registered under a name of its own; `create_engine` (database.py) asks for it in place of
# `sqlite+aiosqlite`.
LEAN_DRIVER = "sqlite+aiosqlite_lean"
registry.register("sqlite.aiosqlite_lean", __name__, LeanAiosqliteDialect.__name__)
