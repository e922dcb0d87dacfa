"""Deny by default: every resource route needs a principal unless it is marked `@public`.

The app factory includes each module's routes through `include_guarded`, which adds the
`authenticate` dependency to every route but the public ones: a module (`just new` ones
included) writes no code of its own to be protected, and cannot forget to. The health probes,
the metrics endpoint and the docs pages are not resource routes and keep their own rules.

`ANONYMOUS_READ` lets `GET`, `HEAD` and `OPTIONS` without credentials through as anonymous
(`None`); a request that sends a token has it checked all the same, and a bad one is refused.
"""

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase

from ..state import service_state
from . import refusals
from .keys import KeysUnavailable
from .principal import Principal
from .tokens import InvalidToken, TokenVerifier

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# RFC 6750 section 2.1: `Bearer` and a b64token, one space apart. Matched on the raw header
# (ASGI names are lowercase bytes): this runs on every guarded request.
_BEARER = re.compile(rb"[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9._~+/-]+=*)")
_AUTHORIZATION = b"authorization"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_public_endpoints: set[Callable[..., Any]] = set()


class Authenticator:
    def __init__(self, verifier: TokenVerifier, *, anonymous_read: bool) -> None:
        self.verifier = verifier
        self.anonymous_read = anonymous_read

    async def principal_of(self, request: Request) -> Principal | None:
        """The request's principal, `None` for an allowed anonymous read; raises a refusal."""
        query = request.scope["query_string"]
        if b"access_token" in query and "access_token" in request.query_params:
            raise refusals.invalid_request()  # RFC 6750 section 2.3: URLs end up in logs
        headers = [value for name, value in request.scope["headers"] if name == _AUTHORIZATION]
        if not headers:
            if self.anonymous_read and request.method in SAFE_METHODS:
                return None
            raise refusals.credentials_missing()
        match = _BEARER.fullmatch(headers[0]) if len(headers) == 1 else None
        if match is None:
            raise refusals.invalid_request()
        try:
            principal = await self.verifier.verify(match[1].decode("ascii"))
        except InvalidToken:
            raise refusals.invalid_token() from None
        except KeysUnavailable:
            raise refusals.keys_unavailable(self.verifier.keys.retry_in()) from None
        # Read by the access line, and by the rate limiter's key when rate limiting is on.
        request.scope.setdefault("state", {})["principal"] = principal.id  # `request.state`
        return principal


class BearerGuard(SecurityBase):
    """The guard dependency. A security scheme to FastAPI, so the OpenAPI document declares
    HTTP bearer authentication on every guarded operation (and the docs get "Authorize"), in
    one dependency: the header is read and checked by `Authenticator`, nowhere else."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="An access token of the identity provider")
        self.scheme_name = "BearerAuth"

    async def __call__(self, request: Request) -> Principal | None:
        return await service_state(request.app).authenticator.principal_of(request)


authenticate = BearerGuard()


async def current_principal(
    principal: Annotated[Principal | None, Depends(authenticate)],
) -> Principal:
    if principal is None:
        raise refusals.credentials_missing()
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
"""The caller, in a handler that needs to know who it is (an anonymous read gets 401)."""


def require_scopes(*needed: str) -> Any:
    """A dependency refusing (403) a principal without every one of `needed`, e.g.
    `@router.post("", dependencies=[require_scopes("items:write")])`."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.scopes.issuperset(needed):
            raise refusals.insufficient_scope(needed)
        return principal

    return Depends(check)


def public(endpoint: Endpoint) -> Endpoint:
    """Mark a route as open to everyone; put it under the route decorator (`@router.get(...)`
    first, then `@public`, then the function), so the router registers the marked function."""
    _public_endpoints.add(endpoint)
    return endpoint


def is_public(endpoint: Callable[..., Any] | None) -> bool:
    return endpoint in _public_endpoints


_GUARDED: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed credentials (`WWW-Authenticate: Bearer error=...`)"},
    401: {"description": "No access token, or one that is not valid"},
    403: {"description": "The token lacks a scope the operation needs"},
}


def include_guarded(app: FastAPI, router: APIRouter, *, prefix: str = "") -> None:
    """Include `router` route by route (order kept), each but the public ones guarded."""
    for route in router.routes:
        endpoint = getattr(route, "endpoint", None)
        single = APIRouter(routes=[route])
        if is_public(endpoint):
            app.include_router(single, prefix=prefix)
        elif isinstance(route, APIRoute):
            app.include_router(
                single, prefix=prefix, dependencies=[Depends(authenticate)], responses=_GUARDED
            )
        else:
            # A plain Starlette route runs no dependencies: it would be open without saying so.
            raise TypeError(
                f"{getattr(route, 'path', route)!r} cannot be guarded: declare it with an "
                "APIRouter method, or mark its endpoint @public"
            )
