"""Queries on the items table; no commits here: the service owns the transaction.

Each write is one statement that returns the row as the database wrote it (`RETURNING`):
generated id, defaults and all, so nothing has to be read again after the commit. A change or
a removal happens only on the versions `If-Match` names (`expected`), in the same statement.
A removal only marks the row (`deleted_at`, data/soft_delete.py): every other query sees live rows
only, and `restore` and `purge` act on deleted rows only.
"""

from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ...data.pages import ListStatements
from ...data.rows import one_row
from ...data.soft_delete import deleted, live
from ...http.conditional import Precondition
from ...http.pagination import Listing
from .models import Item

# The columns, not the entity: the schema validates the rows without an ORM object per row
# (data/rows.py), and a list's total comes with its page in one statement (data/pages.py).
# Built once, the id bound at each run: building a statement costs more CPU than running it
# from SQLAlchemy's cache (the template's performance docs).
_LIVE_BY_ID = select(*Item.__table__.c).where(Item.id == bindparam("item_id"), live(Item))
_LIST = ListStatements(select(*Item.__table__.c).where(live(Item)), left_out=deleted(Item))


async def page(
    session: AsyncSession, listing: Listing, filters: dict[str, Any]
) -> tuple[list[dict[str, Any]], int | None, bool]:
    return await _LIST.fetch(session, listing, filters)


async def get(session: AsyncSession, item_id: int) -> dict[str, Any] | None:
    return await one_row(session, _LIVE_BY_ID, {"item_id": item_id})


async def add(session: AsyncSession, values: dict[str, Any]) -> Item:
    return (await session.scalars(insert(Item).values(values).returning(Item))).one()


async def change(
    session: AsyncSession, item_id: int, values: dict[str, Any], expected: Precondition
) -> Item | None:
    statement = (
        update(Item)
        .where(Item.id == item_id, live(Item), *expected.where(Item.version))
        .values({**values, "version": Item.version + 1})
        .returning(Item)
    )
    return (await session.scalars(statement)).one_or_none()


async def remove(session: AsyncSession, item_id: int, expected: Precondition) -> bool:
    statement = (
        update(Item)
        .where(Item.id == item_id, live(Item), *expected.where(Item.version))
        .values(deleted_at=func.now(), version=Item.version + 1)
        .returning(Item.id)
    )
    return await session.scalar(statement) is not None


async def restore(session: AsyncSession, item_id: int) -> Item | None:
    statement = (
        update(Item)
        .where(Item.id == item_id, deleted(Item))
        .values(deleted_at=None, version=Item.version + 1)
        .returning(Item)
    )
    return (await session.scalars(statement)).one_or_none()


async def purge(session: AsyncSession, item_id: int) -> bool:
    statement = delete(Item).where(Item.id == item_id, deleted(Item)).returning(Item.id)
    return await session.scalar(statement) is not None
