"""A page of rows and the total it is a page of, read in one statement.

The total is `count(*)` of the same query, as a scalar subquery of the page's own statement: one
round trip instead of two, and the items and the total come from one snapshot, so they always
agree (two statements can straddle a commit). The database still counts every row: on a large
table that count, not the page, is what a list request costs (the template's performance
docs give figures).

`fetch_listing` serves a list request (http/pagination.py): sorted, in offset mode through
`fetch_page`, in cursor mode as a keyset read that starts after the cursor's position and
counts only when asked.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Row,
    Select,
    and_,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from ..http.pagination import Listing

# The label of the total's column, added last to the page's columns.
TOTAL_LABEL = "page_total_"


async def fetch_page(
    session: AsyncSession, statement: Select, *, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    """The rows of `statement` from `offset`, at most `limit` of them, and how many it has in all.

    Give it columns, `select(*Model.__table__.c)`, rather than the entity: its rows then have
    the columns as attributes, and a schema with `from_attributes` validates them without an
    ORM object built per row. Each row carries the total as one more column, which the schema
    ignores. An empty page has no row to carry it: it is counted apart, unless the page is the
    first, where no row means none at all.
    """
    counted = _count_of(statement)
    total = counted.scalar_subquery().label(TOTAL_LABEL)
    page = statement.add_columns(total).limit(limit).offset(offset)
    rows = (await session.execute(page)).all()
    if rows:
        return rows, rows[0][-1]
    if offset == 0:
        return rows, 0
    return rows, await session.scalar(counted) or 0


async def fetch_listing(
    session: AsyncSession,
    statement: Select,
    columns: ReadOnlyColumnCollection[str, Any],
    listing: Listing,
) -> tuple[Sequence[Row[Any]], int | None, bool]:
    """The rows of `statement` that the list request asks for, sorted by its order; the total
    (when counted) and whether more rows follow the page.

    `columns` are the table's, named as the sortable fields. Offset mode is `fetch_page` on the
    sorted statement; cursor mode reads one row more than the page to learn whether another
    page follows, and starts after the cursor's position (`after`), which the index of the order
    finds without reading the rows before it.
    """
    keys = [(columns[key.field], key.descending) for key in listing.order.keys]
    ordered = statement.order_by(*(column.desc() if down else column for column, down in keys))
    if listing.paging == "offset":
        rows, total = await fetch_page(session, ordered, limit=listing.limit, offset=listing.offset)
        return rows, total, listing.offset + len(rows) < total
    counted = _count_of(statement) if listing.counted else None
    page = ordered
    if listing.after is not None:
        page = page.where(_after(keys, listing.after, session.get_bind().dialect.name))
    if counted is not None:
        page = page.add_columns(counted.scalar_subquery().label(TOTAL_LABEL))
    rows = (await session.execute(page.limit(listing.limit + 1))).all()
    total = None
    if counted is not None:
        total = rows[0][-1] if rows else await session.scalar(counted) or 0
    return rows[: listing.limit], total, len(rows) > listing.limit


def _count_of(statement: Select) -> Select:
    """`count(*)` of the rows `statement` selects, whatever their order."""
    return select(func.count()).select_from(statement.order_by(None).subquery())


def _after(
    keys: list[tuple[ColumnElement[Any], bool]], values: tuple[Any, ...], dialect: str
) -> ColumnElement[bool]:
    """Rows past `values` in the order of `keys` (column, descending).

    One direction is a row-value comparison, `(a, id) > (:a, :id)`, which PostgreSQL answers
    with one index range scan. Mixed directions expand it: `a > :a OR (a = :a AND id < :id)`.
    """
    pairs = [
        (_comparable(column, dialect), _comparable(literal(value, column.type), dialect), down)
        for (column, down), value in zip(keys, values, strict=True)
    ]
    if len({down for _, _, down in pairs}) == 1:
        left, right = tuple_(*(pair[0] for pair in pairs)), tuple_(*(pair[1] for pair in pairs))
        return left < right if pairs[0][2] else left > right
    return or_(
        *(
            and_(*(a == b for a, b, _ in pairs[:index]), column < value if down else column > value)
            for index, (column, value, down) in enumerate(pairs)
        )
    )


def _comparable(expression: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """SQLite keeps timestamps as text, `CURRENT_TIMESTAMP`'s without fractions and bound ones
    with: compared as text, the same instant is two values. `julianday` compares instants."""
    if dialect == "sqlite" and isinstance(getattr(expression.type, "impl", None), DateTime):
        return func.julianday(expression)
    return expression
