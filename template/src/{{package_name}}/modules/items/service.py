"""Item use cases. Each write commits explicitly before the handler returns its response."""

from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository
from .models import Item
from .schemas import ItemCreate, ItemUpdate


async def create(session: AsyncSession, data: ItemCreate) -> Item:
    item = Item(**data.model_dump())
    session.add(item)
    await session.commit()
    await session.refresh(item)
    return item


async def get_or_404(session: AsyncSession, item_id: int) -> Item:
    item = await repository.get(session, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"Item {item_id} does not exist.")
    return item


async def update(session: AsyncSession, item_id: int, data: ItemUpdate) -> Item:
    item = await get_or_404(session, item_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await session.commit()
    await session.refresh(item)
    return item


async def delete(session: AsyncSession, item_id: int) -> None:
    item = await get_or_404(session, item_id)
    await session.delete(item)
    await session.commit()
