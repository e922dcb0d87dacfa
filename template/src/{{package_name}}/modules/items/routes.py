from fastapi import APIRouter, Response, status

from ...data.database import SessionDep
from ...http.bounds import RecordId
from ...http.pagination import Page, PageDep
from . import service
from .schemas import ItemCreate, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_item(data: ItemCreate, session: SessionDep) -> ItemRead:
    return await service.create(session, data)


@router.get("")
async def list_items(session: SessionDep, page: PageDep) -> Page[ItemRead]:
    return await service.page(session, page)


@router.get("/{item_id}")
async def get_item(item_id: RecordId, session: SessionDep) -> ItemRead:
    return await service.get_or_404(session, item_id)


@router.patch("/{item_id}")
async def update_item(item_id: RecordId, data: ItemUpdate, session: SessionDep) -> ItemRead:
    return await service.update(session, item_id, data)


# `response_class=Response`: a 204 has no body, so no content type either.
@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_item(item_id: RecordId, session: SessionDep) -> None:
    await service.delete(session, item_id)
