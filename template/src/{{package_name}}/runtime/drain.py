"""What the server and the app share during a graceful drain (the sequence is in docs/drain.md).

The server begins the drain when it receives SIGTERM or SIGINT; `/health/ready` answers 503 from
that moment. The request edge (`edge/layer.py`) registers every HTTP request here, so the
server can wait for the running ones to finish and cancel those still running at the deadline.
"""

import asyncio
import time


class InFlightRequest:
    """One HTTP request, from entering the app until the app returns."""

    __slots__ = ("cancelled", "response_started", "task")

    def __init__(self, task: "asyncio.Task[object] | None") -> None:
        self.task = task
        self.response_started = False
        self.cancelled = False


class Drain:
    def __init__(self) -> None:
        self.began_at: float | None = None
        self.draining = False  # read on every response: an attribute, not a property
        self.deadline = float("inf")
        self._requests: set[InFlightRequest] = set()
        self._changed: asyncio.Event | None = None
        # What became of the requests cancelled at the deadline, as the edge saw it.
        self.answered_503 = 0
        self.cut_mid_response = 0

    def begin(self, timeout: float) -> bool:
        """Start the drain now, with in-flight requests due `timeout` seconds from now.

        Returns False, changing nothing, if the drain had already begun.
        """
        if self.began_at is not None:
            return False
        self.began_at = time.monotonic()
        self.draining = True
        self.deadline = self.began_at + timeout
        return True

    def elapsed(self) -> float:
        """Seconds since the drain began (0 before it began)."""
        return 0.0 if self.began_at is None else time.monotonic() - self.began_at

    @property
    def in_flight(self) -> int:
        return len(self._requests)

    def enter(self, task: "asyncio.Task[object] | None") -> InFlightRequest:
        request = InFlightRequest(task)
        self._requests.add(request)
        return request

    def leave(self, request: InFlightRequest) -> None:
        self._requests.discard(request)
        if self._changed is not None:
            self._changed.set()

    async def wait_for_in_flight(self, at_most: int = 0, until: float | None = None) -> bool:
        """Wait until at most `at_most` requests are in flight (one waiter at a time: the server).

        Gives up at `until` (a `time.monotonic()` value; by default the drain deadline) and then
        returns False.
        """
        give_up_at = self.deadline if until is None else until
        while len(self._requests) > at_most:
            remaining = give_up_at - time.monotonic()
            if remaining <= 0:
                return False
            self._changed = changed = asyncio.Event()
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._changed = None
        return True

    def cancel_in_flight(self) -> tuple[int, int]:
        """Cancel every request still running.

        Returns how many had not started their response (the edge answers them 503) and
        how many had (only closing their connection ends those).
        """
        not_started = started = 0
        for request in self._requests:
            request.cancelled = True
            if request.task is not None:
                request.task.cancel()
            if request.response_started:
                started += 1
            else:
                not_started += 1
        return not_started, started
