"""When an outbound request may be sent again, and how long to wait first (built on tenacity).

A request is sent again only when that cannot do harm:
- it never left (connection refused, connect timeout, no free pooled connection): nothing reached
  the upstream, so any method may try again;
- it may have reached the upstream (read or write timeout, connection reset, the upstream hung
  up, or an answer of 429, 502, 503 or 504) and it is replay-safe: an idempotent method
  (RFC 9110: GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or a request carrying an `Idempotency-Key`.
  A POST or PATCH without a key is never sent twice.

Waits are exponential with full jitter (a random time between 0 and `initial * 2**n`, capped at
`maximum`), so callers that failed together do not come back together. A `Retry-After` answer
(seconds or an HTTP date) adds its delay to that wait. The call stops at `attempts` tries, or
before a wait would end past the `budget`.
"""

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from tenacity import RetryCallState, stop_after_attempt, stop_before_delay, wait_random_exponential
from tenacity.asyncio import AsyncRetrying

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAYBE_SENT_ERRORS = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)

Sleep = Callable[[float], Awaitable[None]]


def replay_safe(request: httpx.Request) -> bool:
    return request.method in IDEMPOTENT_METHODS or "idempotency-key" in request.headers


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP date); None if invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT; a zone-less one is not an HTTP date
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _should_retry(state: RetryCallState) -> bool:
    request: httpx.Request = state.args[0]
    outcome = state.outcome
    if outcome is None:
        return False
    if outcome.failed:
        error = outcome.exception()
        if isinstance(error, NOT_SENT_ERRORS):
            return True
        return isinstance(error, MAYBE_SENT_ERRORS) and replay_safe(request)
    response: httpx.Response = outcome.result()
    return response.status_code in RETRYABLE_STATUSES and replay_safe(request)


def _last_outcome(state: RetryCallState) -> httpx.Response:
    """Out of attempts or budget: hand back the last answer, or raise the last error."""
    # Narrows the type: tenacity records an outcome before it calls this.
    assert state.outcome is not None  # noqa: S101
    return state.outcome.result()


def describe_outcome(state: RetryCallState) -> str:
    outcome = state.outcome
    if outcome is None:
        return "no outcome"
    if outcome.failed:
        return type(outcome.exception()).__name__
    return f"status {outcome.result().status_code}"


def _log_retry(state: RetryCallState) -> None:
    request: httpx.Request = state.args[0]
    logger.debug(
        "outbound %s %s%s: attempt %d failed (%s); retrying in %.3f s",
        request.method,
        request.url.netloc.decode("ascii"),
        request.url.path,
        state.attempt_number,
        describe_outcome(state),
        state.upcoming_sleep,
    )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    budget: float
    backoff_initial: float
    backoff_max: float

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.budget <= 0 or self.backoff_initial <= 0:
            raise ValueError("budget and backoff_initial must be positive")
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must not be below backoff_initial")

    def retrying(self, sleep: Sleep) -> AsyncRetrying:
        """A tenacity retrier; `retrier(send, request, ...)` runs `send` until it may stop."""
        backoff = wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max)

        def wait(state: RetryCallState) -> float:
            jitter = backoff(state)
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                delay = parse_retry_after(outcome.result().headers.get("retry-after"))
                if delay is not None:
                    return delay + jitter
            return jitter

        return AsyncRetrying(
            sleep=sleep,
            stop=stop_after_attempt(self.attempts) | stop_before_delay(self.budget),
            wait=wait,
            retry=_should_retry,
            before_sleep=_log_retry,
            retry_error_callback=_last_outcome,
        )
