"""The shared outbound HTTP client: one pooled `httpx.AsyncClient` behind retries and breakers.

The lifespan creates one `OutboundClient` from the settings and closes it at shutdown; handlers
reach it through `OutboundDep`. Each call:

1. asks the upstream's circuit breaker for admission (refused at once while it is open);
2. sends the request with bounded retries (see `retry.py`), each attempt cut short when the
   call's time budget runs out;
3. returns the upstream's answer when it is usable (any 1xx-4xx but 429), and otherwise raises
   `UpstreamTimeout` (504) or `UpstreamBadResponse` (502), never exposing the upstream's body.

Every request carries `X-Request-ID` (the id of the request being served) and the caller's
trace context (see `request_context.py`). Request bodies are bytes, text or JSON, so a retry can
send the same body again; redirects are returned, not followed. The client keeps no cookies: it
serves every user of the service, so a cookie set by one upstream answer must not ride along on
another user's call.
"""

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Annotated, Any, TypedDict, Unpack

import httpx
from fastapi import Depends, Request

from ..request_context import current_request_id, current_trace_headers
from ..settings import Settings
from ..state import service_state
from .breaker import BreakerRegistry, BreakerSnapshot, CircuitOpen
from .errors import UpstreamBadResponse, UpstreamTimeout, UpstreamUnavailable
from .retry import RetryPolicy, Sleep

logger = logging.getLogger(__name__)

QueryParams = Mapping[str, str | int | float | bool | None]


class RequestOptions(TypedDict, total=False):
    params: QueryParams | None
    headers: Mapping[str, str] | None
    json: Any
    content: bytes | str | None
    idempotency_key: str | None


_BAD_ANSWER_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError, httpx.DecodingError)


class _BudgetExhausted(Exception):
    """The call's total time budget ran out during an attempt."""


class OutboundClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        policy: RetryPolicy,
        breakers: BreakerRegistry,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.http = http
        self.policy = policy
        self.breakers = breakers
        self._retrying = policy.retrying(sleep)

    @classmethod
    def from_settings(cls, settings: Settings, *, sleep: Sleep = asyncio.sleep) -> "OutboundClient":
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.outbound_connect_timeout_seconds,
                read=settings.outbound_read_timeout_seconds,
                write=settings.outbound_write_timeout_seconds,
                pool=settings.outbound_pool_timeout_seconds,
            ),
            limits=httpx.Limits(
                max_connections=settings.outbound_max_connections,
                max_keepalive_connections=settings.outbound_max_keepalive_connections,
                keepalive_expiry=settings.outbound_keepalive_expiry_seconds,
            ),
            follow_redirects=False,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            trust_env=settings.outbound_trust_env,
            verify=_tls_context(settings.outbound_trust_env),
        )
        policy = RetryPolicy(
            attempts=settings.outbound_retry_attempts,
            budget=settings.outbound_retry_budget_seconds,
            backoff_initial=settings.outbound_backoff_initial_seconds,
            backoff_max=settings.outbound_backoff_max_seconds,
        )
        breakers = BreakerRegistry(
            failure_threshold=settings.outbound_breaker_failure_threshold,
            cooldown=settings.outbound_breaker_cooldown_seconds,
        )
        return cls(http, policy=policy, breakers=breakers, sleep=sleep)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> "OutboundClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one logical request; see the module docstring for what happens on failure.

        POST and PATCH are sent once unless `idempotency_key` (or an `Idempotency-Key` header)
        is given; then every retry carries the same key.
        """
        request = self.http.build_request(
            method,
            url,
            params=params,
            headers=self._headers(headers, idempotency_key),
            json=json,
            content=content,
        )
        upstream = request.url.netloc.decode("ascii")
        breaker = self.breakers.for_upstream(upstream)
        try:
            probe = breaker.before_call()
        except CircuitOpen as refused:
            raise UpstreamUnavailable(upstream, refused.retry_in) from None
        try:
            response = await self._send_with_retries(request, upstream)
        except (UpstreamTimeout, UpstreamBadResponse):
            breaker.record_failure(probe)
            raise
        except BaseException:
            breaker.release(probe)
            raise
        breaker.record_success(probe)
        return response

    async def get(self, url: httpx.URL | str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("GET", url, **options)

    async def head(self, url: httpx.URL | str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("HEAD", url, **options)

    async def delete(
        self, url: httpx.URL | str, **options: Unpack[RequestOptions]
    ) -> httpx.Response:
        return await self.request("DELETE", url, **options)

    async def put(self, url: httpx.URL | str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("PUT", url, **options)

    async def post(self, url: httpx.URL | str, **options: Unpack[RequestOptions]) -> httpx.Response:
        return await self.request("POST", url, **options)

    async def patch(
        self, url: httpx.URL | str, **options: Unpack[RequestOptions]
    ) -> httpx.Response:
        return await self.request("PATCH", url, **options)

    def breaker_states(self) -> dict[str, BreakerSnapshot]:
        return self.breakers.snapshot()

    def _headers(
        self, headers: Mapping[str, str] | None, idempotency_key: str | None
    ) -> httpx.Headers:
        merged = httpx.Headers(headers)
        request_id = current_request_id()
        if request_id is not None and "x-request-id" not in merged:
            merged["X-Request-ID"] = request_id
        for name, value in current_trace_headers():
            if name not in merged:
                merged[name] = value
        if idempotency_key is not None:
            if not idempotency_key.strip():
                raise ValueError("idempotency_key must not be empty")
            merged["Idempotency-Key"] = idempotency_key
        return merged

    async def _send_with_retries(self, request: httpx.Request, upstream: str) -> httpx.Response:
        deadline = time.monotonic() + self.policy.budget
        retrying = self._retrying.copy()
        try:
            response: httpx.Response = await retrying(self._send_once, request, deadline)
        except (_BudgetExhausted, httpx.TimeoutException) as error:
            self._log_failure(request, retrying.statistics, type(error).__name__)
            raise UpstreamTimeout(upstream) from error
        except _BAD_ANSWER_ERRORS as error:
            self._log_failure(request, retrying.statistics, type(error).__name__)
            raise UpstreamBadResponse(upstream) from error
        if response.status_code >= 500 or response.status_code == 429:
            self._log_failure(request, retrying.statistics, f"status {response.status_code}")
            raise UpstreamBadResponse(upstream)
        return response

    async def _send_once(self, request: httpx.Request, deadline: float) -> httpx.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _BudgetExhausted
        try:
            async with asyncio.timeout(remaining):
                return await self.http.send(request)
        except TimeoutError as error:
            raise _BudgetExhausted from error

    @staticmethod
    def _log_failure(request: httpx.Request, statistics: dict[str, Any], reason: str) -> None:
        logger.warning(
            "outbound %s %s%s failed after %s attempt(s): %s",
            request.method,
            request.url.netloc.decode("ascii"),
            request.url.path,
            statistics.get("attempt_number", 1),
            reason,
        )


@functools.cache
def _tls_context(trust_env: bool) -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), loaded once per process.

    Loading the bundle takes tens of milliseconds; every app built in a test suite would pay it.
    """
    return httpx.create_ssl_context(trust_env=trust_env)


async def get_outbound(request: Request) -> OutboundClient:
    return service_state(request.app).outbound


OutboundDep = Annotated[OutboundClient, Depends(get_outbound)]
