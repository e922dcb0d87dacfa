"""Queries on the items table; no commits here: the service owns the transaction."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Item


async def page(session: AsyncSession, *, limit: int, offset: int) -> tuple[Sequence[Item], int]:
    total = await session.scalar(select(func.count()).select_from(Item))
    rows = await session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset))
    return rows.all(), total or 0


async def get(session: AsyncSession, item_id: int) -> Item | None:
    return await session.get(Item, item_id)
