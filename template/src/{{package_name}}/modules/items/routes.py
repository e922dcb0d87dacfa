from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from ...data.database import SessionDep
from ...data.idempotency import IdempotencyKey
from ...http.bounds import RecordId
from ...http.conditional import (
    PRECONDITION_RESPONSES,
    READ_RESPONSES,
    UPDATE_RESPONSES,
    IfNoneMatch,
    Precondition,
    if_match,
    tag,
)
from ...http.idempotency import CREATE_RESPONSES
from ...http.pagination import CursorPage, Listing, Page, listing_of
from . import service
from .schemas import SORTABLE, ItemCreate, ItemFilters, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])

# `If-Match` of this module's writes; the REQUIRE_IF_MATCH setting names modules as here.
IfMatch = Annotated[Precondition, Depends(if_match("items"))]

# Sorting, filters and both paging modes of the list (http/pagination.py).
ItemListing = Annotated[Listing, Depends(listing_of(SORTABLE))]


@router.post("", status_code=status.HTTP_201_CREATED, responses=CREATE_RESPONSES)
async def create_item(data: ItemCreate, session: SessionDep, key: IdempotencyKey) -> ItemRead:
    return await service.create(session, data, key)


@router.get("")
async def list_items(
    session: SessionDep, listing: ItemListing, filters: Annotated[ItemFilters, Query()]
) -> Page[ItemRead] | CursorPage[ItemRead]:
    return await service.page(session, listing, filters)


@router.get("/{item_id}", responses=READ_RESPONSES)
async def get_item(item_id: RecordId, session: SessionDep, conditions: IfNoneMatch) -> ItemRead:
    item = await service.get_or_404(session, item_id)
    conditions.answer(item.version)  # the ETag, or 304 when the client's copy is current
    return item


@router.patch("/{item_id}", responses=UPDATE_RESPONSES)
async def update_item(
    item_id: RecordId, data: ItemUpdate, session: SessionDep, expected: IfMatch, response: Response
) -> ItemRead:
    item = await service.update(session, item_id, data, expected)
    tag(response, item.version)
    return item


# `response_class=Response`: a 204 has no body, so no content type either.
@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=PRECONDITION_RESPONSES,
)
async def delete_item(item_id: RecordId, session: SessionDep, expected: IfMatch) -> None:
    await service.delete(session, item_id, expected)


# Restore and purge act on deleted records only; any other id is a 404.
@router.post("/{item_id}/restore", responses=UPDATE_RESPONSES)
async def restore_item(item_id: RecordId, session: SessionDep, response: Response) -> ItemRead:
    item = await service.restore(session, item_id)
    tag(response, item.version)
    return item


@router.post("/{item_id}/purge", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def purge_item(item_id: RecordId, session: SessionDep) -> None:
    await service.purge(session, item_id)
