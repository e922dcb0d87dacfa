"""Opaque, tamper-evident cursors: the position after the last row of a page, signed.

A cursor is `<payload>.<tag>`, both base64url: the payload is JSON naming the resource, the
sort and the sort values of the last row served; the tag is its HMAC-SHA256 under the key of
`CURSOR_SECRET`. A cursor the service did not make (forged, altered, truncated, cut from
another) fails the tag check before its content is read, and answers 422, never a 500 and
never other rows. A genuine cursor used with another sort or on another resource is refused
too: its values would mean another position.

The key must be the same in every worker and survive restarts, or a client walking pages
meets a 422 halfway: `CURSOR_SECRET` is required in production (the service refuses to start
without it). Elsewhere an unset secret gives a random key per process, with a warning.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
from functools import cache
from typing import Any

from ..settings import ENV_PREFIX, Settings
from .problems import ProblemError

# Signed with the payload, so a tag made for anything else this key may sign never fits.
PURPOSE = b"list-cursor/1\x00"
TAG_BYTES = 16  # 128 bits: forging one is a 2^-128 guess per request
CURSOR_MAX_LENGTH = 4096

logger = logging.getLogger(__name__)


class CursorSecretMissing(ValueError):
    pass


@cache
def _process_key() -> bytes:
    return secrets.token_bytes(32)


def cursor_key(settings: Settings) -> bytes:
    """The signing key: from `CURSOR_SECRET`, else (never in production) one of this process."""
    if settings.cursor_secret is not None:
        return settings.cursor_secret.get_secret_value().encode()
    if settings.is_production:
        raise CursorSecretMissing(
            f"{ENV_PREFIX}CURSOR_SECRET is required in production: it signs the cursors of "
            "list endpoints, which must stay valid across workers and restarts "
            "(generate one: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return _process_key()


@cache
def warn_of_process_key() -> None:
    """Said once, at the first list request: by then the logs are configured."""
    logger.warning(
        "%sCURSOR_SECRET is not set: list cursors are signed with a random key of this "
        "process, so they fail (422) on another worker and after a restart",
        ENV_PREFIX,
    )


def cursor_problem(message: str) -> ProblemError:
    return ProblemError(
        f"{message} Start again without `cursor`, or follow the `next` link of a page.",
        status=422,
        errors=[{"loc": ["query", "cursor"], "msg": message, "type": "cursor_invalid"}],
    )


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, PURPOSE + payload, hashlib.sha256).digest()[:TAG_BYTES]


def sign(key: bytes, resource: str, sort: str, values: list[Any]) -> str:
    payload = json.dumps({"r": resource, "s": sort, "v": values}, separators=(",", ":")).encode()
    return f"{_encode(payload)}.{_encode(_tag(key, payload))}"


def open_cursor(key: bytes, cursor: str, resource: str, sort: str) -> list[Any]:
    """The values of a cursor this service signed for `resource` and `sort`; else a 422."""
    encoded_payload, _, encoded_tag = cursor.partition(".")
    try:
        payload, tag = _decode(encoded_payload), _decode(encoded_tag)
    except (binascii.Error, ValueError):
        raise cursor_problem("The cursor is not one this service made.") from None
    if not hmac.compare_digest(tag, _tag(key, payload)):
        raise cursor_problem("The cursor is not one this service made.")
    content = json.loads(payload)  # signed by us: well-formed
    if content["r"] != resource:
        raise cursor_problem("The cursor belongs to another list.")
    if content["s"] != sort:
        raise cursor_problem(f"The cursor was made for sort={content['s']}, not sort={sort}.")
    return content["v"]
