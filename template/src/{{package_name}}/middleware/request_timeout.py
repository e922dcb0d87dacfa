"""Request timeout: a handler that has not started its response within the limit gets a 504.

Each request has a clock that runs while the handler works, is paused while the handler waits for
the client's body (that wait is the client's, bounded by the body read timeout instead, so a slow
upload is not taken for a slow handler), and is stopped for good when the response starts (a
streaming response may run as long as it likes).

The clocks of all requests in flight share one sweep, run every `limit / 20` seconds (at most every
0.5 s) while any request is in flight. A per-request `asyncio.timeout` costs a timer handle and an
async context manager, about 5 µs per request; the sweep costs a set insertion and removal. The
price is precision: the 504 comes up to one sweep interval after the limit. A request past its
limit is cancelled the way `asyncio.timeout` cancels (`Task.cancel`, undone with `uncancel` when
the 504 is sent), so the handler's `finally` blocks and context managers run normally.

Cancellation reaches the handler at its next `await`. Code running in a worker thread (a sync
`def` endpoint) cannot be interrupted: its 504 is sent when the thread returns.
"""

import asyncio


class RequestClock:
    __slots__ = ("_cancelling", "_deadlines", "deadline", "expired", "stopped", "task")

    def __init__(
        self, deadlines: "Deadlines", task: "asyncio.Task[object]", deadline: float
    ) -> None:
        self._deadlines = deadlines
        self.task = task
        self.deadline = deadline
        self.expired = False
        self.stopped = False
        self._cancelling = task.cancelling()

    def caused(self) -> bool:
        """Whether the CancelledError being handled is this clock's doing, and if so undo it.

        Like `asyncio.timeout`: another cancellation requested meanwhile still propagates.
        """
        return self.expired and self.task.uncancel() <= self._cancelling

    def stop(self) -> None:
        """The response has started: no deadline any more."""
        self.stopped = True
        self._deadlines.clocks.discard(self)

    def pause(self) -> float | None:
        """Stop counting; returns the time left, to give to `resume`."""
        if self.stopped or self.expired:
            return None
        self._deadlines.clocks.discard(self)
        return self.deadline - asyncio.get_running_loop().time()

    def resume(self, remaining: float | None) -> None:
        if remaining is not None and not self.stopped and not self.expired:
            self.deadline = asyncio.get_running_loop().time() + remaining
            self._deadlines.watch(self)


class Deadlines:
    """The running clocks of one edge, swept by a single repeating timer while any is running."""

    def __init__(self, limit_seconds: float) -> None:
        self.limit = limit_seconds
        self.interval = min(max(limit_seconds / 20, 0.005), 0.5)
        self.clocks: set[RequestClock] = set()
        self._sweeping_on: asyncio.AbstractEventLoop | None = None

    def start(self) -> RequestClock:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        clock = RequestClock(self, task, loop.time() + self.limit)
        self.watch(clock)
        return clock

    def watch(self, clock: RequestClock) -> None:
        self.clocks.add(clock)
        loop = asyncio.get_running_loop()
        if self._sweeping_on is not loop:  # no sweep yet, or it ended, or it ran on a closed loop
            self._sweeping_on = loop
            loop.call_later(self.interval, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._sweeping_on:
            return
        now = loop.time()
        late = [clock for clock in self.clocks if clock.deadline <= now]
        for clock in late:
            self.clocks.discard(clock)
            clock.expired = True
            clock.task.cancel()
        if self.clocks:
            loop.call_later(self.interval, self._sweep, loop)
        else:
            self._sweeping_on = None
