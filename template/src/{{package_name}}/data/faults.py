"""Which database errors are faults of the database (answered 503), and which are bugs (500).

A fault is something a client can retry: the connection was lost, the database refused or did
not answer, the pool had no connection to give within its timeout, a statement ran past its
time limit, or the transaction lost a conflict with another one. In each case nothing was
committed (the transaction is rolled back with its connection), so the client is told so: 503
with `Retry-After`. Anything else (a constraint the code should have checked, a SQL error) is a
bug, and answered 500.
"""

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class DatabaseUnreachable(Exception):
    """Opening a connection failed: refused, or the server did not answer in time."""


@dataclass(frozen=True, slots=True)
class DatabaseFault:
    kind: str
    """A short name, used in logs and in the `faults_total{kind="db_<kind>"}` metric."""
    detail: str
    """What the client is told (the problem document's `detail`)."""


CONNECTION_LOST = DatabaseFault(
    "connection_lost", "The connection to the database was lost; nothing was saved."
)
UNAVAILABLE = DatabaseFault("unavailable", "The database is not available; nothing was saved.")
POOL_TIMEOUT = DatabaseFault(
    "pool_timeout", "No database connection was free in time; nothing was saved."
)
STATEMENT_TIMEOUT = DatabaseFault(
    "statement_timeout", "The database did not finish in time; nothing was saved."
)
CONFLICT = DatabaseFault(
    "conflict", "The change conflicted with a concurrent one; nothing was saved."
)

# PostgreSQL SQLSTATE codes, whole or by their two-character class.
SQLSTATE_FAULTS: dict[str, DatabaseFault] = {
    "08": CONNECTION_LOST,  # connection exception
    "57P01": CONNECTION_LOST,  # admin shutdown: pg_terminate_backend, a fast server stop
    "57P02": CONNECTION_LOST,  # crash shutdown
    "57P03": UNAVAILABLE,  # cannot connect now: starting up, in recovery
    "53": UNAVAILABLE,  # insufficient resources: too many connections, disk full
    "57014": STATEMENT_TIMEOUT,  # query canceled: statement_timeout
    "55P03": STATEMENT_TIMEOUT,  # lock not available: lock_timeout
    "40001": CONFLICT,  # serialization failure
    "40P01": CONFLICT,  # deadlock detected
}


def fault_of(error: BaseException) -> DatabaseFault | None:
    """The fault `error` reports, or None when it is a bug."""
    if isinstance(error, DatabaseUnreachable):
        return UNAVAILABLE
    if isinstance(error, PoolTimeoutError):
        return POOL_TIMEOUT
    if not isinstance(error, DBAPIError):
        return None
    if error.connection_invalidated:
        return CONNECTION_LOST
    sqlstate = getattr(error.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return SQLSTATE_FAULTS.get(sqlstate) or SQLSTATE_FAULTS.get(sqlstate[:2])
    # The driver's OperationalError: for SQLite a file it cannot open or a lock held past the
    # busy timeout; for any driver, "not necessarily under the control of the programmer".
    return UNAVAILABLE if isinstance(error, OperationalError) else None
