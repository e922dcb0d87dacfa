"""A circuit breaker per upstream: stop calling an upstream that keeps failing, probe it later.

- closed: calls pass. `failure_threshold` consecutive failed calls open the circuit.
- open: calls are refused at once, without touching the network, until `cooldown` has passed.
- half-open: the first call after the cooldown is the probe; while it runs, the others are still
  refused. The probe's success closes the circuit, its failure opens it for another cooldown.

A call is a whole outbound call, retries included: a transient fault that a retry absorbed is
not a failure of the upstream. Outcomes of calls admitted before the circuit opened are ignored
once it is open, so a slow straggler neither resets nor extends the cooldown.

Everything here runs on one event loop thread and never awaits, so no lock is needed.
"""

import logging
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TypedDict

logger = logging.getLogger(__name__)

# What a refused caller is told to wait while the probe is still out: its answer is imminent.
PROBE_PENDING_RETRY_IN = 1.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerSnapshot(TypedDict):
    state: BreakerState
    consecutive_failures: int
    retry_in_seconds: float | None


class CircuitOpen(Exception):
    """The breaker refused the call; `retry_in` is how long until it admits a probe."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"circuit to {name} is open")
        self.name = name
        self.retry_in = retry_in


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown <= 0:
            raise ValueError("cooldown must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self._opened_at = 0.0
        self._probe_out = False

    def before_call(self) -> bool:
        """Admit a call or raise `CircuitOpen`. True means the admitted call is the probe."""
        if self.state is BreakerState.CLOSED:
            return False
        if self.state is BreakerState.OPEN:
            retry_in = self._opened_at + self.cooldown - self.clock()
            if retry_in > 0:
                raise CircuitOpen(self.name, retry_in)
            self._enter(BreakerState.HALF_OPEN)
            logger.info("circuit to %s is half-open: probing with the next call", self.name)
        if self._probe_out:
            raise CircuitOpen(self.name, PROBE_PENDING_RETRY_IN)
        self._probe_out = True
        return True

    def record_success(self, probe: bool) -> None:
        if probe:
            self._probe_out = False
            self._enter(BreakerState.CLOSED)
            logger.info("circuit to %s closed: the probe succeeded", self.name)
        elif self.state is BreakerState.CLOSED:
            self.consecutive_failures = 0

    def record_failure(self, probe: bool) -> None:
        if probe:
            self._probe_out = False
            self._open()
            logger.warning(
                "circuit to %s opened again: the probe failed; next probe in %.1f s",
                self.name,
                self.cooldown,
            )
        elif self.state is BreakerState.CLOSED:
            self.consecutive_failures += 1
            if self.consecutive_failures >= self.failure_threshold:
                self._open()
                logger.warning(
                    "circuit to %s opened after %d consecutive failed calls; next probe in %.1f s",
                    self.name,
                    self.failure_threshold,
                    self.cooldown,
                )

    def release(self, probe: bool) -> None:
        """The call ended without a verdict on the upstream (cancelled, or a bug of the caller)."""
        if probe:
            self._probe_out = False

    def snapshot(self) -> BreakerSnapshot:
        retry_in = None
        if self.state is BreakerState.OPEN:
            retry_in = round(max(0.0, self._opened_at + self.cooldown - self.clock()), 3)
        return {
            "state": self.state,
            "consecutive_failures": self.consecutive_failures,
            "retry_in_seconds": retry_in,
        }

    def _open(self) -> None:
        self._enter(BreakerState.OPEN)
        self._opened_at = self.clock()

    def _enter(self, state: BreakerState) -> None:
        self.state = state
        if state is BreakerState.CLOSED:
            self.consecutive_failures = 0


class BreakerRegistry:
    """One breaker per upstream `host[:port]`, made on first use with the same thresholds."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_upstream(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = CircuitBreaker(
                name,
                failure_threshold=self.failure_threshold,
                cooldown=self.cooldown,
                clock=self.clock,
            )
        return breaker

    def snapshot(self) -> dict[str, BreakerSnapshot]:
        return {name: breaker.snapshot() for name, breaker in sorted(self._breakers.items())}
