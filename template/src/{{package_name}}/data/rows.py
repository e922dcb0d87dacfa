"""Rows read as dicts of their columns, through the session's connection, without the ORM.

A statement whose condition names a model's attribute (`live(Item)`) gets the ORM's result
handling when the session runs it: an object per row, its state and the identity map. A route
that answers with a schema needs none of that: the schema validates a dict of the row's columns
in a fraction of the time it takes to read the same values as an object's attributes (the
template's performance docs). Run through the session's connection, the statement is in the
session's transaction and sees what the session wrote.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The session's connection, in its transaction, once the ORM has flushed what it would
    have flushed before a query of its own."""
    if session.autoflush:
        await session.flush()
    return await session.connection()


async def one_row(
    session: AsyncSession, statement: Select, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The first row of `statement` run with `values`, as {column: value}; None without one."""
    connection = await connection_of(session)
    result = await connection.execute(statement, values)
    row = result.first()
    # zip, not `row._asdict()`: a fifth of its CPU.
    return None if row is None else dict(zip(result.keys(), row, strict=True))
