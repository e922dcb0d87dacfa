"""The identity provider's signing keys: discovered, fetched, cached, refreshed sparingly.

Fetched with the shared outbound client (its retries and circuit breaker) from the `jwks_uri`
of the provider's discovery document, or from `AUTH_OIDC_JWKS_URL`. Keys are used for
`AUTH_JWKS_CACHE_SECONDS`, then fetched again in the background while the old ones keep
serving; a provider that is down leaves the cached keys in use. A token naming an unknown `kid`
triggers a fetch (a provider rotating its keys), but never more than one per
`AUTH_JWKS_MIN_REFRESH_SECONDS`: a flood of made-up `kid`s costs the provider one request.
With no key at all (never fetched), a token cannot be checked and the request gets 503.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from jwt import PyJWK
from jwt.exceptions import InvalidKeyError, PyJWKError

from .tokens import UnknownKey

logger = logging.getLogger(__name__)

FetchJson = Callable[[str], Awaitable[Any]]
Clock = Callable[[], float]

DISCOVERY_PATH = "/.well-known/openid-configuration"


class KeysUnavailable(Exception):
    """No key was ever fetched: no token can be checked (before `retry_in` seconds)."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(retry_in)
        self.retry_in = retry_in


class ProviderKeys:
    def __init__(
        self,
        *,
        issuer: str | None,
        jwks_url: str | None,
        fetch_json: FetchJson,
        cache_seconds: float,
        min_refresh_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.fetch_json = fetch_json
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.clock = clock
        self.keys: dict[str, PyJWK] = {}
        self.fetched_at: float | None = None
        self.last_attempt: float | None = None
        self.generation = 0
        """Counts the key sets fetched: what was checked with an older one is checked again."""
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    @property
    def configured(self) -> bool:
        return bool(self.issuer or self.jwks_url)

    @property
    def loaded(self) -> bool:
        return bool(self.keys)

    async def key(self, kid: str) -> PyJWK:
        """The key `kid` names; raises `UnknownKey`, or `KeysUnavailable` with no key at all."""
        key = self.keys.get(kid)
        if key is not None:
            if self._stale() and self._due():
                self.refresh_in_background()
            return key
        await self.refresh_if_due()
        key = self.keys.get(kid)
        if key is not None:
            return key
        if not self.keys:
            raise KeysUnavailable(self.retry_in())
        raise UnknownKey

    async def refresh_if_due(self) -> None:
        """Fetch the keys unless a fetch started less than the minimum interval ago; while
        one is in flight, wait for it (its keys may be the ones this caller needs)."""
        if not self._due() and not self._lock.locked():
            return
        async with self._lock:
            if not self._due():  # another request fetched while this one waited
                return
            self.last_attempt = self.clock()
            try:
                keys = parse_key_set(await self.fetch_json(await self._jwks_url()))
            except Exception as error:  # noqa: BLE001
                # Any failure (network, breaker, a bad document) keeps the keys we have.
                logger.warning("fetching the identity provider's keys failed: %r", error)
                return
            self.keys, self.fetched_at = keys, self.clock()
            self.generation += 1
            logger.info("identity provider keys loaded: %d", len(keys))

    def refresh_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self.refresh_if_due())

    async def check_loaded(self) -> None:
        """Readiness: ready once a key set was fetched (later outages keep the cached keys)."""
        if not self.loaded:
            await self.refresh_if_due()
        if not self.loaded:
            raise KeysUnavailable(self.retry_in())

    async def close(self) -> None:
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)

    def retry_in(self) -> float:
        if self.last_attempt is None:
            return 0.0
        return max(0.0, self.last_attempt + self.min_refresh_seconds - self.clock())

    def _due(self) -> bool:
        if not self.configured:
            return False
        return self.last_attempt is None or self.retry_in() <= 0

    def _stale(self) -> bool:
        return self.fetched_at is None or self.clock() - self.fetched_at >= self.cache_seconds

    async def _jwks_url(self) -> str:
        if self.jwks_url is None:
            assert self.issuer is not None  # noqa: S101 — `configured` holds one of them
            document = await self.fetch_json(self.issuer.rstrip("/") + DISCOVERY_PATH)
            if not isinstance(document, dict) or document.get("issuer") != self.issuer:
                # OpenID Connect Discovery 1.0 section 4.3: a document of another issuer is
                # not to be used.
                raise ValueError("the discovery document names another issuer")
            jwks_uri = document.get("jwks_uri")
            # Never a downgrade: clear-text keys only from a provider on a loopback address.
            schemes = (
                ("https://", "http://") if self.issuer.startswith("http://") else ("https://",)
            )
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(schemes):
                raise ValueError("the discovery document has no usable jwks_uri")
            self.jwks_url = jwks_uri
        return self.jwks_url


def parse_key_set(document: Any) -> dict[str, PyJWK]:
    """The signing keys of a JWKS by `kid`; keys without a `kid`, or not for signing, or of a
    type PyJWT cannot use, are left out. Each key's algorithm comes from the key (its `alg`, or
    its type and curve), and a token is only ever checked with that algorithm."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig" or entry.get("kty") == "oct":
            continue
        try:
            keys[entry["kid"]] = PyJWK(entry)
        except (PyJWKError, InvalidKeyError):
            continue
    if not keys:
        raise ValueError("the JWK set holds no usable signing key")
    return keys
