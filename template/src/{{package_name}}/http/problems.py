"""RFC 9457 problem details: every error leaves the service as `application/problem+json`.

Handlers raise `HTTPException` or a `ProblemError`; middlewares that answer before the app runs
use `problem_bytes`. A body never carries a stack trace or an upstream's answer; the request id
is always there so a client report can be matched to the log line.
"""

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..request_context import current_request_id

PROBLEM_JSON = "application/problem+json"

logger = logging.getLogger(__name__)


class ProblemError(Exception):
    """An error with a status and a client-safe detail; raise it anywhere in a request."""

    status: int = 500
    title: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = headers
        self.extensions = extensions


def problem_document(status: int, detail: str | None = None, **extensions: Any) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    document: dict[str, Any] = {"type": "about:blank", "title": phrase, "status": status}
    if detail:
        document["detail"] = detail
    request_id = current_request_id()
    if request_id:
        document["request_id"] = request_id
    document.update(extensions)
    return document


def problem_bytes(status: int, detail: str | None = None, **extensions: Any) -> bytes:
    return json.dumps(
        problem_document(status, detail, **extensions), separators=(",", ":")
    ).encode()


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_document(status, detail, **extensions),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


# The methods a 405's `Allow` can name (RFC 9110 section 9; CONNECT and TRACE are never served).
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: Starlette names only the first route's.

    Each method is tried against the routes' public `matches`, the router's own test, so routes
    included from routers are seen the same way as the app's own.
    """
    routes = request.app.router.routes

    def served(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] == Match.FULL for route in routes)

    return ", ".join(method for method in METHODS if served(method))


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    # The asserts of these handlers narrow the type only: Starlette calls each with the class it
    # is registered for.
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return problem_response(exc.status_code, detail, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    if isinstance(exc.body, bytes) and exc.body:
        # FastAPI leaves a body undecoded when its content type is not JSON.
        return problem_response(415, "The request body must be application/json.")
    errors = [
        # `input` is left out on purpose: it may echo secrets back into logs and clients.
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    if any(error["type"] == "json_invalid" for error in errors):
        return problem_response(400, "The request body is not valid JSON.", errors=errors)
    return problem_response(422, "The request does not match the expected schema.", errors=errors)


async def _problem_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)  # noqa: S101
    return problem_response(exc.status, exc.detail, headers=exc.headers, **exc.extensions)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ProblemError, _problem_error)
