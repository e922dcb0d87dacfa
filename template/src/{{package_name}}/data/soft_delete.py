"""Soft delete: `DELETE` marks a row, restore unmarks it, purge removes it for good.

A module made with `just new` (the default; `--hard-delete` opts out) mixes `SoftDeletable`
into its model. Its repository reads and changes live rows only (`live`), so a deleted record
is a 404 to every route but restore and purge, which act on deleted rows only (`deleted`).

A model indexes its live rows with `live_index` (its lists and their counts read that index).
A unique column must stay unique among live rows only, or a deleted record would hold its
value for ever: declare it with `unique_while_live`, a partial unique index that SQLite (3.8+)
and PostgreSQL both support. `purge_deleted` (the `purge-deleted` command) removes the rows
deleted longer ago than a retention period, in every table that has the mixin.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Index, delete, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.schema import Column

from ..settings import Settings
from .database import Base, UTCDateTime, run_in_session

LIVE = text("deleted_at IS NULL")


class SoftDeletable:
    """The `deleted_at` column: NULL while the row is live, the time of its deletion after."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


def live(model: type[SoftDeletable]) -> ColumnElement[bool]:
    return model.deleted_at.is_(None)


def deleted(model: type[SoftDeletable]) -> ColumnElement[bool]:
    return model.deleted_at.is_not(None)


def live_index(name: str, *columns: str | Column[Any], unique: bool = False) -> Index:
    """An index of the live rows only (partial: `WHERE deleted_at IS NULL`, SQLite and PostgreSQL).

    Every query of a soft-deleting module has that condition, so both databases can read such
    an index instead of the table: a list and its count skip the deleted rows without a scan.
    """
    return Index(name, *columns, unique=unique, sqlite_where=LIVE, postgresql_where=LIVE)


def unique_while_live(name: str, *columns: str | Column[Any]) -> Index:
    """A unique index over the live rows: the value of a deleted row can be taken again."""
    return live_index(name, *columns, unique=True)


def soft_deletable_models() -> list[type[SoftDeletable]]:
    mappers = sorted(Base.registry.mappers, key=lambda mapper: mapper.class_.__name__)
    return [mapper.class_ for mapper in mappers if issubclass(mapper.class_, SoftDeletable)]


async def purge_deleted(session: AsyncSession, before: datetime) -> dict[str, int]:
    """Delete the rows soft-deleted before `before`, table by table; how many of each."""
    removed = {}
    for model in soft_deletable_models():
        statement = delete(model).where(model.deleted_at < before)
        result = cast("CursorResult[Any]", await session.execute(statement))
        removed[cast("Any", model).__tablename__] = result.rowcount
    await session.commit()
    return removed


def purge(settings: Settings, older_than: timedelta) -> dict[str, int]:
    """`just purge-deleted <days>`: run it from a scheduled job to honour a retention period."""
    before = datetime.now(UTC) - older_than
    return run_in_session(settings, lambda session: purge_deleted(session, before))
