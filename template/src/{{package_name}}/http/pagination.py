"""Pagination of list endpoints: limit/offset or a cursor, sorted, in one envelope per mode.

Offset mode (the default) answers `Page`: `items`, `total`, `limit`, `offset` and the `next`
link. Cursor mode (`?paging=cursor`, then the `next` link) answers `CursorPage`: each page
starts after the last row of the one before, found through the sort's index however deep the
page is, and rows inserted meanwhile neither repeat nor vanish. The total is counted in offset
mode always (its clients have it), in cursor mode only on `?total=true`: on a large table the
count, not the page, is what a request costs. The limit is capped by settings in both modes.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.datastructures import URL

from ..state import service_state
from .bounds import INT64_MAX
from .cursors import CURSOR_MAX_LENGTH, cursor_problem, open_cursor, sign, warn_of_process_key
from .problems import ProblemError
from .sorting import SORT_MAX_LENGTH, Sortable, SortOrder

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Paging = Literal["offset", "cursor"]


class Page(BaseModel, Generic[T]):
    """A page of the offset mode."""

    paging: Literal["offset"] = "offset"
    items: list[T]
    total: int
    limit: int
    offset: int
    next: str | None = Field(default=None, description="Link to the next page; null on the last")


class CursorPage(BaseModel, Generic[T]):
    """A page of the cursor mode."""

    paging: Literal["cursor"] = "cursor"
    items: list[T]
    limit: int
    next_cursor: str | None = Field(description="`cursor` of the next page; null on the last")
    next: str | None = Field(description="Link to the next page; null on the last")
    total: int | None = Field(default=None, description="Rows in all; only with `total=true`")


@cache
def envelope_classes(schema: type[M]) -> tuple[type[Page[M]], type[CursorPage[M]]]:
    """`Page[schema]` and `CursorPage[schema]`, made once per schema. Pydantic makes them at run
    time, so a type checker sees a variable where it expects a type."""
    return Page[schema], CursorPage[schema]  # ty: ignore[invalid-type-form]


Limit = Annotated[int | None, Query(ge=1, description="Page size; capped by the server")]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX, description="Records to skip (offset mode)")]
PagingMode = Annotated[Paging | None, Query(description="`offset` (default) or `cursor`")]
Cursor = Annotated[
    str | None, Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the last page")
]
CountAll = Annotated[bool, Query(description="Count every row in cursor mode too (costly)")]


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(request: Request, limit: Limit = None, offset: Offset = 0) -> PageParams:
    settings = service_state(request.app).settings
    size = settings.page_size_default if limit is None else min(limit, settings.page_size_max)
    return PageParams(limit=size, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True, slots=True)
class Listing:
    """What a list request asks for: the order, the page, and where a cursor left off."""

    sortable: Sortable
    order: SortOrder
    paging: Paging
    limit: int
    offset: int
    after: tuple[Any, ...] | None
    """Cursor mode past the first page: the sort values of the last row already served."""
    counted: bool
    url: URL
    key: bytes

    def envelope(
        self, items: Sequence[M], total: int | None, more: bool
    ) -> Page[M] | CursorPage[M]:
        """The answer; `more` tells whether rows follow the last item (the link then exists).

        `items` are instances of the sortable's schema, the route's read schema: the envelope is
        that schema's `Page` or `CursorPage`, the class of the route's response model, which
        FastAPI then serializes as it is (a bare `Page` it would validate again, every item)."""
        page_class, cursor_page_class = envelope_classes(self.sortable.schema)
        if self.paging == "offset":
            assert total is not None  # noqa: S101 - offset mode always counts
            link = self._link(offset=self.offset + len(items)) if more else None
            return page_class(
                items=list(items), total=total, limit=self.limit, offset=self.offset, next=link
            )
        cursor = None
        if more and items:
            values = self.sortable.values_of(self.order, items[-1])
            cursor = sign(self.key, self.sortable.schema.__name__, str(self.order), values)
        return cursor_page_class(
            items=list(items),
            limit=self.limit,
            next_cursor=cursor,
            next=self._link(cursor=cursor) if cursor else None,
            total=total if self.counted else None,
        )

    def page_of(self, records: Sequence[M]) -> tuple[list[M], int | None, bool]:
        """The page of records held in memory that this request asks for, as `fetch_listing`
        reads one from a table: sorted, then by offset or after the cursor's position; the
        total (when counted) and whether more records follow."""
        ordered = list(records)
        for key in reversed(self.order.keys):  # stable sorts, the last key first
            ordered.sort(key=attrgetter(key.field), reverse=key.descending)
        total = len(ordered)
        if self.paging == "offset":
            page = ordered[self.offset : self.offset + self.limit]
            return page, total, self.offset + len(page) < total
        if self.after is not None:
            ordered = [record for record in ordered if _beyond(record, self.order, self.after)]
        return ordered[: self.limit], total if self.counted else None, len(ordered) > self.limit

    def _link(self, **changes: str | int) -> str:
        """This request's path and query, the page's parameters changed: relative, so it holds
        behind any proxy."""
        url = self.url.include_query_params(**changes)
        return f"{url.path}?{url.query}"


def _paging(paging: Paging | None, cursor: str | None, offset: int) -> Paging:
    mode = "cursor" if cursor is not None else paging or "offset"
    if mode == "cursor" and (offset or paging == "offset"):
        raise cursor_problem("Cursor paging and an offset exclude each other.")
    return mode


def _each_parameter_once(request: Request) -> None:
    """Every list parameter and filter is one value: given twice, it would silently be read as
    its last one, which is not what the client meant (and not what the schema allows)."""
    names = [name for name, _ in request.query_params.multi_items()]
    if len(names) != len(set(names)):
        raise ProblemError("Give each query parameter at most once.", status=422)


def listing_of(sortable: Sortable) -> Callable[..., Awaitable[Listing]]:
    """The dependency that reads a list request's parameters for a module's `Sortable`."""
    fields = ", ".join(sortable.fields)
    sort_help = f"Comma-separated, `-` for descending, of: {fields} (default {sortable.default})"
    # The pattern is documented, not enforced here: `parse` refuses with the allowed fields.
    shown = {"pattern": sortable.pattern}
    Sort = Annotated[
        str | None,
        Query(
            max_length=min(SORT_MAX_LENGTH, sortable.max_length),
            description=sort_help,
            json_schema_extra=shown,
        ),
    ]

    async def listing(
        request: Request,
        limit: Limit = None,
        offset: Offset = 0,
        sort: Sort = None,
        paging: PagingMode = None,
        cursor: Cursor = None,
        total: CountAll = False,
    ) -> Listing:
        _each_parameter_once(request)
        state = service_state(request.app)
        settings = state.settings
        if settings.cursor_secret is None:
            warn_of_process_key()
        size = settings.page_size_default if limit is None else min(limit, settings.page_size_max)
        order = sortable.parse(sort)
        mode = _paging(paging, cursor, offset)
        after = None
        if cursor is not None:
            values = open_cursor(state.cursor_key, cursor, sortable.schema.__name__, str(order))
            try:
                after = sortable.restore(order, values)
            except ValueError:
                raise cursor_problem("The cursor is not one this service made.") from None
        return Listing(
            sortable=sortable,
            order=order,
            paging=mode,
            limit=size,
            offset=offset,
            after=after,
            counted=mode == "offset" or total,
            url=request.url,
            key=state.cursor_key,
        )

    return listing


def _beyond(record: BaseModel, order: SortOrder, position: tuple[Any, ...]) -> bool:
    """Whether the record sorts after `position`, the sort values of a cursor."""
    for key, reached in zip(order.keys, position, strict=True):
        value = getattr(record, key.field)
        if value != reached:
            return value < reached if key.descending else value > reached
    return False
