"""Authentication: OIDC bearer tokens on every resource route, deny by default (README
"Authentication"). `install` builds the key cache and the token checks; the app factory
includes the modules' routes through `include_guarded`."""

import logging
from typing import Any

from fastapi import FastAPI

from ..state import Feature, ServiceState
from .guard import (
    Authenticator,
    PrincipalDep,
    authenticate,
    include_guarded,
    public,
    require_scopes,
)
from .keys import ProviderKeys
from .principal import Principal
from .tokens import TokenVerifier

logger = logging.getLogger(__name__)

__all__ = [
    "Principal",
    "PrincipalDep",
    "authenticate",
    "include_guarded",
    "install",
    "public",
    "require_scopes",
]


class KeyFetchFailed(Exception):
    """The provider answered, but not with a document."""


def install(_: FastAPI, state: ServiceState) -> Feature:
    settings = state.settings

    async def fetch_json(url: str) -> Any:
        # The outbound client starts before this feature's startup (features.py lists it first).
        response = await state.outbound.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise KeyFetchFailed(f"{url} answered {response.status_code}")
        return response.json()

    keys = ProviderKeys(
        issuer=settings.auth_oidc_issuer,
        jwks_url=settings.auth_oidc_jwks_url,
        fetch_json=fetch_json,
        cache_seconds=settings.auth_jwks_cache_seconds,
        min_refresh_seconds=settings.auth_jwks_min_refresh_seconds,
    )
    verifier = TokenVerifier(settings, keys)
    state.authenticator = Authenticator(verifier, anonymous_read=settings.anonymous_read)
    if keys.configured:
        state.readiness_checks["identity_provider"] = keys.check_loaded

    async def startup() -> None:
        if not keys.configured:
            logger.warning(
                "no identity provider is configured (AUTH_OIDC_ISSUER): every guarded route "
                "answers 503"
            )
        # In the background: a provider that is down must not keep the service from starting.
        keys.refresh_in_background()

    return Feature("auth", startup, keys.close)
