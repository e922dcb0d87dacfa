"""Item use cases. Each write commits explicitly before the handler returns its response."""

from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from ...http.pagination import Page, PageParams
from . import repository
from .models import Item
from .schemas import ItemCreate, ItemRead, ItemUpdate


async def create(session: AsyncSession, data: ItemCreate) -> Item:
    record = Item(**data.model_dump())
    session.add(record)
    await session.commit()
    await session.refresh(record)
    return record


async def page(session: AsyncSession, params: PageParams) -> Page[ItemRead]:
    records, total = await repository.page(session, limit=params.limit, offset=params.offset)
    return Page[ItemRead](
        items=[ItemRead.model_validate(record) for record in records],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


async def get_or_404(session: AsyncSession, item_id: int) -> Item:
    record = await repository.get(session, item_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"Item {item_id} does not exist.")
    return record


async def update(session: AsyncSession, item_id: int, data: ItemUpdate) -> Item:
    record = await get_or_404(session, item_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(record, field, value)
    await session.commit()
    await session.refresh(record)
    return record


async def delete(session: AsyncSession, item_id: int) -> None:
    record = await get_or_404(session, item_id)
    await session.delete(record)
    await session.commit()
