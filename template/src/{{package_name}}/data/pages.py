"""A page of rows and the total it is a page of, read in one statement.

The total is `count(*)` of the same query, as a scalar subquery of the page's own statement: one
round trip instead of two, and the items and the total come from one snapshot, so they always
agree (two statements can straddle a commit). The database still counts every row: on a large
table that count, not the page, is what a list request costs (the template's performance
docs give figures).
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    total = counted.scalar_subquery().label(TOTAL_LABEL)
    page = statement.add_columns(total).limit(limit).offset(offset)
    rows = (await session.execute(page)).all()
    if rows:
        return rows, rows[0][-1]
    if offset == 0:
        return rows, 0
    return rows, await session.scalar(counted) or 0
