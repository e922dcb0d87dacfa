"""Conditional requests (RFC 9110 section 13): an `ETag` on each record, `If-None-Match` on
reads, `If-Match` on writes.

Every row of a resource has a `version` that each write of it increments; its entity tag is that
number in quotes (`"3"`). It is a strong validator: one version is one representation, byte for
byte. A client that read version 3 writes with `If-Match: "3"`; the versions `If-Match` names
go into the WHERE clause of the UPDATE or DELETE itself (`Precondition.where`), so checking and
writing are one statement and two clients holding the same version cannot both win. When no row
matched, the service reads the row once to tell "no such record" (404) from "not that version"
(412); that read only names the refusal, it decides nothing.

- `GET` of one record answers its `ETag`; with an `If-None-Match` naming it, 304 without a body.
- `PATCH` and `DELETE` honour `If-Match`: a version the row no longer has is 412; `*` means any.
- A module listed in the `REQUIRE_IF_MATCH` setting refuses a write without `If-Match` (428).

Lists carry no entity tag: a page changes with every write to any of its rows and its `total`
with every create or delete, and no single version describes it. Deliberately not done: weak
validators (nothing here is "semantically equivalent" but different), `If-Modified-Since`
(timestamps are coarser than versions), `If-Unmodified-Since`.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from ..state import service_state
from .problems import ProblemError

# An entity tag, weak or strong (RFC 9110 section 8.8.3); a list is these, comma-separated.
ENTITY_TAG = re.compile(r'(?P<weak>W/)?"(?P<opaque>[\x21\x23-\x7e\x80-\xff]*)"')
VERSION = re.compile(r"[1-9][0-9]{0,18}")


def etag(version: int) -> str:
    return f'"{version}"'


def _versions(header: str, *, weak_too: bool) -> frozenset[int]:
    """The versions a list of entity tags names; tags we never issue name none."""
    return frozenset(
        int(match["opaque"])
        for match in ENTITY_TAG.finditer(header)
        if (weak_too or not match["weak"]) and VERSION.fullmatch(match["opaque"])
    )


class NotModified(Exception):
    """Raised by `ReadConditions.answer`: the client's copy is current (304)."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


@dataclass(frozen=True, slots=True)
class ReadConditions:
    """`If-None-Match` of a read, and the response that carries the `ETag`."""

    if_none_match: str | None
    response: Response

    def answer(self, version: int) -> None:
        """Tag the response with `version`; raise `NotModified` when the client has it."""
        current = etag(version)
        header = self.if_none_match
        # Weak comparison (RFC 9110 section 13.1.2): W/"3" matches "3".
        if header is not None and (
            header.strip() == "*" or version in _versions(header, weak_too=True)
        ):
            raise NotModified(current)
        self.response.headers["ETag"] = current


async def read_conditions(
    response: Response,
    if_none_match: Annotated[
        str | None,
        Header(description="Entity tags of the copies the client holds: 304 if one is current"),
    ] = None,
) -> ReadConditions:
    return ReadConditions(if_none_match, response)


IfNoneMatch = Annotated[ReadConditions, Depends(read_conditions)]


@dataclass(frozen=True, slots=True)
class Precondition:
    """What `If-Match` asks of the row: `versions` None means no condition (absent or `*`)."""

    versions: frozenset[int] | None = None

    def holds(self, version: int) -> bool:
        return self.versions is None or version in self.versions

    def where(self, column: InstrumentedAttribute[int]) -> list[ColumnElement[bool]]:
        """The WHERE clauses that make a write happen only on a version `If-Match` names."""
        return [] if self.versions is None else [column.in_(self.versions)]


def tag(response: Response, version: int) -> None:
    """Send the `ETag` of the version a write left."""
    response.headers["ETag"] = etag(version)


def stale(name: str) -> ProblemError:
    return ProblemError(
        f"{name} has changed since the version If-Match names: read it again, then retry.",
        status=412,
    )


def if_match(module: str) -> Callable[..., Awaitable[Precondition]]:
    """The dependency reading `If-Match` for the writes of `module` (a `REQUIRE_IF_MATCH` name)."""

    async def precondition(
        request: Request,
        if_match: Annotated[
            str | None,
            Header(description="The entity tag (`ETag`) of the version this write expects"),
        ] = None,
    ) -> Precondition:
        if if_match is None:
            if module in service_state(request.app).settings.require_if_match:
                raise ProblemError(
                    "This write needs an If-Match header with the record's ETag.", status=428
                )
            return Precondition()
        if if_match.strip() == "*":
            return Precondition()
        return Precondition(_versions(if_match, weak_too=False))  # If-Match compares strongly

    return precondition


async def _not_modified(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)  # noqa: S101 - narrows the type only
    return Response(status_code=304, headers={"ETag": exc.tag})


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotModified, _not_modified)


# The responses the routes document (`responses=`); problems get their content in openapi.py.
ETAG_HEADER = {"ETag": {"description": "The record's version", "schema": {"type": "string"}}}
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": ETAG_HEADER},
    304: {
        "description": "Not modified: the `If-None-Match` copy is current",
        "headers": ETAG_HEADER,
    },
}
PRECONDITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    412: {"description": "The record's version is not the one `If-Match` names"},
    428: {"description": "This module requires `If-Match` (setting `REQUIRE_IF_MATCH`)"},
}
UPDATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": ETAG_HEADER},
    **PRECONDITION_RESPONSES,
}
