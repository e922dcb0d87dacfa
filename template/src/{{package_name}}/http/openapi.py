"""The OpenAPI document tells the truth about errors: every operation lists the problem
documents (`application/problem+json`) it can answer with.

FastAPI documents a 422 in its own `application/json` shape and nothing else; the service
answers every error as a problem document, from the handlers (`problems.py`), the database
(`data/database.py`) and the edge (`edge/refusals.py`, 503 while draining, 504). `PROBLEMS` is
the table of those statuses and of the operations each applies to; a route's own `responses=`
(a 409, a 412) is kept, with the problem document as its content.

A feature that adds a status to every operation (429 once rate limiting exists) extends the
table through `document_problems(app, extra=...)` rather than editing each route.
"""

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

from .problems import PROBLEM_JSON

Operation = dict[str, Any]
Applies = Callable[[Operation], bool]

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document; `request_id` matches the service's log lines.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "What failed validation (400, 422).",
            "items": {"type": "object"},
        },
    },
    "required": ["type", "title", "status"],
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying, when a dependency failed.",
        "schema": {"type": "integer"},
    }
}


def always(_: Operation) -> bool:
    return True


def has_body(operation: Operation) -> bool:
    return "requestBody" in operation


def has_path_parameter(operation: Operation) -> bool:
    return any(parameter.get("in") == "path" for parameter in operation.get("parameters", ()))


def has_input(operation: Operation) -> bool:
    return has_body(operation) or bool(operation.get("parameters"))


# Status -> (description, which operations can answer it).
PROBLEMS: dict[int, tuple[str, Applies]] = {
    400: ("Malformed request: a Host not served, a bad Content-Length, a body not JSON.", always),
    404: ("No record with this id.", has_path_parameter),
    408: ("The request body did not arrive in time.", has_body),
    413: ("The request body is larger than the service accepts.", has_body),
    415: ("The request body is not application/json.", has_body),
    422: ("The request does not match the schema.", has_input),
    500: ("The service failed (a bug); the request id finds the log line.", always),
    503: ("Unavailable: a dependency failed (nothing was saved) or the service drains.", always),
    504: ("The handler did not answer within the request timeout.", always),
}


def problem_response(description: str, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }
    if status == 503:
        response["headers"] = RETRY_AFTER
    return response


def with_problems(
    document: dict[str, Any], table: Mapping[int, tuple[str, Applies]]
) -> dict[str, Any]:
    """Add the problem responses of `table` to every operation of `document`, in place."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's, in a shape the service never sends
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:  # a route's own 409, 412...
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            for status, (description, applies) in table.items():
                if str(status) not in responses and applies(operation):
                    responses[str(status)] = problem_response(description, status)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def document_problems(app: FastAPI, extra: Mapping[int, tuple[str, Applies]] | None = None) -> None:
    """Make `app.openapi()` list the problem responses of `PROBLEMS` (and `extra`)."""
    generate = app.openapi
    table = {**PROBLEMS, **(extra or {})}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(generate(), table)
        return app.openapi_schema

    app.openapi = openapi  # FastAPI's documented way to extend the document
