"""Limit/offset pagination: one envelope for every list endpoint, the limit capped by settings."""

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from ..state import service_state
from .bounds import INT64_MAX

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, description="Page size; capped by the server")] = None,
    offset: Annotated[int, Query(ge=0, le=INT64_MAX, description="Records to skip")] = 0,
) -> PageParams:
    settings = service_state(request.app).settings
    size = settings.page_size_default if limit is None else min(limit, settings.page_size_max)
    return PageParams(limit=size, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]
