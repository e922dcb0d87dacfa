from fastapi import APIRouter, status

from ...data.database import SessionDep
from ...http.pagination import Page, PageDep
from . import service
from .schemas import ItemCreate, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_item(data: ItemCreate, session: SessionDep) -> ItemRead:
    return ItemRead.model_validate(await service.create(session, data))


@router.get("")
async def list_items(session: SessionDep, page: PageDep) -> Page[ItemRead]:
    return await service.page(session, page)


@router.get("/{item_id}")
async def get_item(item_id: int, session: SessionDep) -> ItemRead:
    return ItemRead.model_validate(await service.get_or_404(session, item_id))


@router.patch("/{item_id}")
async def update_item(item_id: int, data: ItemUpdate, session: SessionDep) -> ItemRead:
    return ItemRead.model_validate(await service.update(session, item_id, data))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(item_id: int, session: SessionDep) -> None:
    await service.delete(session, item_id)
