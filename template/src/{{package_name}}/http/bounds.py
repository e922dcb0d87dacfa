"""The bounds of what a request may carry: those of the columns it ends up in.

A value the database cannot store is refused by the schema (422, and documented in the OpenAPI
document), instead of failing in the driver with a 500: an id or an offset past a signed 64-bit
integer (PostgreSQL's BIGINT, SQLite's INTEGER), a NUL character (PostgreSQL text cannot hold
one). Every module uses them, with or without a database, so a store can be swapped in later.
"""

from typing import Annotated

from fastapi import Path

INT64_MAX = 2**63 - 1

RecordId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The record's id")]

# Any text without a NUL character; with min_length/max_length as the column's.
STORABLE_TEXT = r"^[^\x00]*$"
