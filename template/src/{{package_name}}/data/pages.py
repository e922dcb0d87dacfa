"""The statements of a table's list endpoint: built once per shape of request, run with its values.

`ListStatements` serves a list request (http/pagination.py) on one table: sorted, filtered by
equality, in offset mode or in cursor mode. A request's statement depends on which filters it
has, its order, its paging mode, whether it counts and whether a cursor places it: a handful of
shapes per module. Each shape is built on its first request and kept (the most recent
`SHAPES_KEPT`), every value bound at each run: building a statement costs SQLAlchemy more CPU
than running one it has compiled already (the template's performance docs).

The total is `count(*)` of the same query, as a scalar subquery of the page's own statement: one
round trip instead of two, and the items and the total come from one snapshot, so they always
agree (two statements can straddle a commit). The database still counts every row: on a large
table that count, not the page, is what a list request costs. On SQLite, a list without filters
of a table whose left-out rows are indexed apart (soft-deleted rows) is counted as the table's
rows less those: SQLite counts a whole table from its pages without reading a row. Through the
service's memory map of the file (data/database.py) that is 13 to 22 times faster than reading
the live rows' index entry by entry for rows of 200 characters, about as fast for rows of 2,000;
the pages of a database file past the map are read from the file, at the speed of file reads.
Offset mode always counts; cursor mode reads one row more than the page, to learn whether another
page follows, starts after the cursor's position, which the index of the order finds without
reading the rows before it, and counts only when asked.
"""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    DateTime,
    Select,
    Table,
    and_,
    bindparam,
    func,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, Null

from ..http.pagination import Listing
from .rows import connection_of

# The label of the total's column, added last to the page's columns.
TOTAL_LABEL = "page_total_"
# Shapes kept per table: each sort order is one, so a table with many sortable fields has many.
SHAPES_KEPT = 256


class Shape(NamedTuple):
    """What decides a list statement's SQL; the values it runs with are bound apart."""

    filters: tuple[str, ...]
    keys: tuple[tuple[str, bool], ...]
    """The order: each sorted field and whether it is descending."""
    paging: str
    counted: bool
    placed: bool
    """Cursor mode past the first page: the statement starts after a position."""
    dialect: str


class Statements(NamedTuple):
    page: Select
    """The page's rows, one more in cursor mode, the total last when counted."""
    count: Select | None
    """The total alone, for a page without rows to carry it; None when not counted."""


class ListStatements:
    """The list statements of `statement`, a `select` of a table's columns and its fixed
    conditions (live rows only, for instance).

    Give it columns, `select(*Model.__table__.c)`, rather than the entity: no ORM object is
    built per row. Each row comes as a dict of its columns, which a schema validates in a
    fraction of the time it takes to read the same values as a row's attributes. The sortable
    fields and the filters name its columns.

    `left_out` is the negation of `statement`'s condition, one NULL test (`deleted(Item)` for
    `live(Item)`), given when an index holds those rows: an unfiltered total on SQLite is then
    the table's rows less the index's. Any other `left_out` is refused here, as it would make
    every such total wrong.
    """

    def __init__(self, statement: Select, *, left_out: ColumnElement[bool] | None = None) -> None:
        self.statement = statement
        self.left_out = None
        if left_out is not None:
            self.left_out = (_table_left_out_of(statement, left_out), left_out)
        self.columns = statement.selected_columns
        self.names = tuple(self.columns.keys())
        self._built = lru_cache(maxsize=SHAPES_KEPT)(self._build)

    async def fetch(
        self, session: AsyncSession, listing: Listing, filters: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], int | None, bool]:
        """The rows that `listing` asks for, of those equal to `filters` (column: value); the
        total (when counted) and whether more rows follow the page."""
        # Without the ORM's result handling, which costs a list of 50 more than its rows do.
        connection = await connection_of(session)
        filtered = tuple(sorted(filters))
        keys = tuple((key.field, key.descending) for key in listing.order.keys)
        placed = listing.after is not None
        shape = Shape(
            filtered, keys, listing.paging, listing.counted, placed, connection.dialect.name
        )
        page, count = self._built(shape)
        values = {_filter_key(name): value for name, value in filters.items()}
        if listing.paging == "offset":
            bounds = {"page_limit": listing.limit, "page_offset": listing.offset}
        else:
            bounds = {"page_limit": listing.limit + 1}
            bounds |= {_after_key(n): value for n, value in enumerate(listing.after or ())}
        result = (await connection.execute(page, values | bounds)).all()
        if count is None:
            total = None
        elif result:
            total = result[0][-1]
        else:
            total = await self._count_apart(connection, count, listing, values)
        if listing.paging == "offset":
            assert total is not None  # noqa: S101 - offset mode always counts
            more = listing.offset + len(result) < total
        else:
            more = len(result) > listing.limit
            result = result[: listing.limit]
        # The total, when counted, is one column past the table's: zip leaves it out.
        return [dict(zip(self.names, row, strict=False)) for row in result], total, more

    @staticmethod
    async def _count_apart(
        connection: AsyncConnection, count: Select, listing: Listing, values: dict[str, Any]
    ) -> int:
        """The total when the page has no row to carry it: none at all on a first page."""
        if listing.paging == "offset" and listing.offset == 0:
            return 0
        return await connection.scalar(count, values) or 0

    def _build(self, shape: Shape) -> Statements:
        matching = self.statement.where(
            *(self.columns[name] == bindparam(_filter_key(name)) for name in shape.filters)
        )
        keys = [(self.columns[field], down) for field, down in shape.keys]
        page = matching.order_by(*(column.desc() if down else column for column, down in keys))
        if shape.placed:
            page = page.where(_after(keys, shape.dialect))
        count = None
        if shape.counted:
            total = self._total(matching, shape)
            count = select(total)
            page = page.add_columns(total.label(TOTAL_LABEL))
        page = page.limit(bindparam("page_limit", type_=BigInteger))
        if shape.paging == "offset":
            page = page.offset(bindparam("page_offset", type_=BigInteger))
        return Statements(page, count)

    def _total(self, matching: Select, shape: Shape) -> ColumnElement[int]:
        if self.left_out is None or shape.filters or shape.dialect != "sqlite":
            return select(func.count()).select_from(matching.subquery()).scalar_subquery()
        table, left_out = self.left_out
        rows = select(func.count()).select_from(table)
        return rows.scalar_subquery() - rows.where(left_out).scalar_subquery()


def _table_left_out_of(statement: Select, left_out: ColumnElement[bool]) -> Table:
    """The one table `statement` reads, once `left_out` is checked to be exactly the rows its
    condition leaves out. That condition must be one NULL test (`deleted_at IS NULL`): any
    other can be NULL itself, and a row where it is falls on neither side of a NOT."""
    tables = statement.get_final_froms()
    kept = statement.whereclause
    hint = "for .where(live(Model)), pass left_out=deleted(Model)"
    if len(tables) != 1 or not isinstance(tables[0], Table):
        raise ValueError(f"left_out needs a statement that reads one table; {hint}")
    null_test = (
        isinstance(kept, BinaryExpression)
        and kept.operator in (operators.is_, operators.is_not)
        and isinstance(kept.right, Null)
    )
    if not null_test:
        raise ValueError(f"left_out needs a statement whose condition is one NULL test; {hint}")
    if not not_(kept).compare(left_out):
        raise ValueError(f"left_out {left_out} is not NOT ({kept}); {hint}")
    return tables[0]


def _filter_key(name: str) -> str:
    return f"filter_{name}"


def _after_key(position: int) -> str:
    return f"after_{position}"


def _after(keys: list[tuple[ColumnElement[Any], bool]], dialect: str) -> ColumnElement[bool]:
    """Rows past the cursor's position in the order of `keys` (column, descending): its values
    are bound as `after_0`, `after_1`, ...

    One direction is a row-value comparison, `(a, id) > (:a, :id)`, which PostgreSQL answers
    with one index range scan. Mixed directions expand it: `a > :a OR (a = :a AND id < :id)`.
    """
    pairs = [
        (_comparable(column, dialect), _comparable(_position(n, column), dialect), down)
        for n, (column, down) in enumerate(keys)
    ]
    if len({down for _, _, down in pairs}) == 1:
        left, right = tuple_(*(pair[0] for pair in pairs)), tuple_(*(pair[1] for pair in pairs))
        past = left < right if pairs[0][2] else left > right
    else:
        past = or_(
            *(
                and_(
                    *(a == b for a, b, _ in pairs[:index]),
                    column < value if down else column > value,
                )
                for index, (column, value, down) in enumerate(pairs)
            )
        )
    first, down = keys[0]
    if dialect == "sqlite" and _is_timestamp(first):
        return and_(_from_the_position(first, down), past)
    return past


def _from_the_position(column: ColumnElement[Any], down: bool) -> ColumnElement[bool]:
    """A bound of the first key, as text, that every row past the position meets: SQLite then
    reads the index of the order from the position's day or second on, where the comparison of
    instants alone (`julianday`, which the index cannot serve) read it from its start.

    SQLite keeps a timestamp as text: `CURRENT_TIMESTAMP` writes whole seconds, SQLAlchemy
    microseconds, and rows written by hand may have a `T`, a zone or more digits. Every form of
    an instant starts with its date, and every form but the `T` one with its whole seconds.
    """
    position = _position(0, column)
    if down:  # past: earlier, so up to the end of the position's date in any form
        return column < func.substr(position, 1, len("YYYY-MM-DD")) + "U"  # after " " and "T"
    # past: later, so from the position's whole second on; `T` forms sort after ` ` ones
    return column >= func.substr(position, 1, len("YYYY-MM-DD HH:MM:SS"))


def _position(n: int, column: ColumnElement[Any]) -> BindParameter[Any]:
    return bindparam(_after_key(n), type_=column.type)


def _comparable(expression: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """SQLite keeps timestamps as text, `CURRENT_TIMESTAMP`'s without fractions and bound ones
    with: compared as text, the same instant is two values. `julianday` compares instants."""
    if dialect == "sqlite" and _is_timestamp(expression):
        return func.julianday(expression)
    return expression


def _is_timestamp(expression: ColumnElement[Any]) -> bool:
    return isinstance(getattr(expression.type, "impl", None), DateTime)
