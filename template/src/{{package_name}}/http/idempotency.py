"""Idempotency keys (IETF draft-ietf-httpapi-idempotency-key-header): a POST sent again with
the same `Idempotency-Key` is carried out once, and every retry gets the first answer.

The client makes up a unique key (a UUID) per operation and sends it with each attempt:

- first attempt: the write and the key's record (method, path, a SHA-256 of the body, the
  answer's status and body) are committed in one transaction (`data/idempotency.py`): either
  both exist or neither does, so a cut connection never leaves a write without its key;
- a retry after that commit: the stored answer, marked `Idempotent-Replayed: true`;
- the same key with another method, path or body: 422, nothing written;
- a retry while the first attempt is still running: 409 with `Retry-After`;
- a malformed key (not 1 to 255 visible ASCII characters, quotes and backslashes excluded): 400;
- no key: an ordinary POST.

The draft makes the key an sf-string (`"8e03978e-..."`); the bare form most clients send is
accepted too. A key is remembered for `IDEMPOTENCY_KEY_TTL_SECONDS`, then it is free again;
`just purge-idempotency-keys` deletes the expired records.

Keys are global: without authentication every client shares one key space, which random UUIDs
make safe. Once the service authenticates its callers, scope each key to its principal (the
`(principal, key)` pair in `IdempotentRequest`, the in-flight set and the table's primary key),
so that one caller can neither replay nor block another's key.
"""

import hashlib
import re
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from ..state import service_state
from .problems import ProblemError

REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r'^(?:"[\x21\x23-\x5b\x5d-\x7e]{1,255}"|[\x21\x23-\x5b\x5d-\x7e]{1,255})$'
KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A request that carries a well-formed key; what its record is made of."""

    key: str
    method: str
    path: str
    fingerprint: str
    """SHA-256 of the body, hexadecimal: a retry must send the same bytes."""
    remembered_for: timedelta


class Replayed(Exception):
    """Raised when the key's answer is already stored: the client gets that answer again."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def parse_key(header: str) -> str:
    if not KEY.fullmatch(header):
        raise ProblemError(
            "Idempotency-Key must be 1 to 255 visible ASCII characters without quotes or "
            'backslashes, bare or as a quoted string ("..."); a UUID fits.',
            status=400,
        )
    return header.strip('"')


KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A unique key per operation (a UUID): a retry with it is done once",
        json_schema_extra={"pattern": KEY_PATTERN},
    ),
]


async def idempotent_request(request: Request, header: str) -> IdempotentRequest:
    """What the key's record is made of; 400 for a malformed key."""
    return IdempotentRequest(
        key=parse_key(header),
        method=request.method,
        path=request.url.path,
        fingerprint=hashlib.sha256(await request.body()).hexdigest(),
        remembered_for=timedelta(
            seconds=service_state(request.app).settings.idempotency_key_ttl_seconds
        ),
    )


def still_running() -> ProblemError:
    return ProblemError(
        "A request with this Idempotency-Key is still being processed: retry later.",
        status=409,
        headers={"Retry-After": "1"},
    )


@contextmanager
def in_flight(request: Request, key: str) -> Generator[None]:
    """Hold `key` as in flight in this process; 409 when it already is."""
    held = service_state(request.app).idempotency_in_flight
    if key in held:
        raise still_running()
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)


async def _replayed(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Replayed)  # noqa: S101 - narrows the type only
    return JSONResponse(exc.body, status_code=exc.status, headers={REPLAYED_HEADER: "true"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(Replayed, _replayed)


# What a POST that takes a key documents (`responses=`); problems get their content in openapi.py.
REPLAY_HEADER = {
    REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"headers": REPLAY_HEADER},
    409: {
        "description": "A request with this `Idempotency-Key` is still being processed",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
