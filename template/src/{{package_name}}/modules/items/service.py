"""Item use cases. A write answers 2xx exactly when its transaction committed.

The response is built from what the statement returned, before the commit; the commit is the
last step, and nothing after it can fail. A failed commit raises: the client gets a 503 (the
database failed, nothing was saved) or a 500 (a bug), never a 2xx (docs/database.md).

A create with an `Idempotency-Key` stores its answer in its own transaction (`remember`); a
change or a removal happens only on the version `If-Match` names (`expected`), else 412.
A removal is a soft delete: `restore` brings the record back, `purge` removes it for good.
"""

from fastapi import HTTPException
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from ...data.idempotency import remember
from ...http.conditional import Precondition, stale
from ...http.idempotency import IdempotentRequest
from ...http.pagination import CursorPage, Listing, Page
from ...http.problems import ProblemError
from . import repository
from .schemas import ItemCreate, ItemFilters, ItemRead, ItemUpdate

# A page's rows are validated in one call, not one call per row.
_ROWS = TypeAdapter(list[ItemRead])


def _not_found(item_id: int) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Item {item_id} does not exist.")


async def _refusal(session: AsyncSession, item_id: int) -> HTTPException | ProblemError:
    """Why a write matched no row: no such record (404), or another version (412)."""
    if await repository.get(session, item_id) is None:
        return _not_found(item_id)
    return stale(f"Item {item_id}")


async def create(
    session: AsyncSession, data: ItemCreate, key: IdempotentRequest | None = None
) -> ItemRead:
    item = ItemRead.model_validate(await repository.add(session, data.model_dump()))
    await remember(session, key, 201, item)
    await session.commit()
    return item


async def page(
    session: AsyncSession, listing: Listing, filters: ItemFilters
) -> Page[ItemRead] | CursorPage[ItemRead]:
    rows, total, more = await repository.page(
        session, listing, filters.model_dump(exclude_none=True)
    )
    return listing.envelope(_ROWS.validate_python(rows), total, more)


async def get_or_404(session: AsyncSession, item_id: int) -> ItemRead:
    item = await repository.get(session, item_id)
    if item is None:
        raise _not_found(item_id)
    return ItemRead.model_validate(item)


async def update(
    session: AsyncSession, item_id: int, data: ItemUpdate, expected: Precondition
) -> ItemRead:
    changes = data.model_dump(exclude_unset=True)
    if not changes:  # nothing to write: the precondition is checked on the row as it is
        item = await get_or_404(session, item_id)
        if not expected.holds(item.version):
            raise stale(f"Item {item_id}")
        return item
    row = await repository.change(session, item_id, changes, expected)
    if row is None:
        raise await _refusal(session, item_id)
    item = ItemRead.model_validate(row)
    await session.commit()
    return item


async def delete(session: AsyncSession, item_id: int, expected: Precondition) -> None:
    if not await repository.remove(session, item_id, expected):
        raise await _refusal(session, item_id)
    await session.commit()


def _not_deleted(item_id: int) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Item {item_id} is not a deleted record.")


async def restore(session: AsyncSession, item_id: int) -> ItemRead:
    row = await repository.restore(session, item_id)
    if row is None:
        raise _not_deleted(item_id)
    item = ItemRead.model_validate(row)
    await session.commit()
    return item


async def purge(session: AsyncSession, item_id: int) -> None:
    if not await repository.purge(session, item_id):
        raise _not_deleted(item_id)
    await session.commit()
