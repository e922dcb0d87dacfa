"""Request timeout: a handler that has not started its response within the limit gets a 504.

Each request's clock runs while the handler works, is paused while the handler waits for the
client's body (that wait is the client's, bounded by the body read timeout instead, so a slow
upload is not taken for a slow handler), and is stopped for good when the response starts (a
streaming response may run as long as it likes).

The clocks of all requests in flight are one dict, task -> deadline, swept by a single timer every
`limit / 20` seconds (at most every 0.5 s) while any clock runs. A per-request `asyncio.timeout`
costs a timer handle and an async context manager, about 5 µs per request; this costs two dict
operations. The price is precision: the 504 comes up to one sweep interval after the limit.
A request past its limit is cancelled the way `asyncio.timeout` cancels (`Task.cancel`, undone with
`uncancel` once the 504 is decided), so the handler's `finally` blocks and context managers run.

Cancellation reaches the handler at its next `await`. Code running in a worker thread (a sync
`def` endpoint) cannot be interrupted: its 504 is sent when the thread returns.

The body read timeout (`body_limit`) uses a second `Deadlines` of its own.
"""

import asyncio

Task = asyncio.Task[object]


class Deadlines:
    def __init__(self, limit_seconds: float) -> None:
        self.limit = limit_seconds
        self.interval = min(max(limit_seconds / 20, 0.005), 0.5)
        self._running: dict[Task, float] = {}
        self._paused: dict[Task, float] = {}  # task -> time it had left
        self._expired: dict[Task, int] = {}  # task -> its cancellation count before ours
        self._sweeping_on: asyncio.AbstractEventLoop | None = None

    def start(self) -> Task:
        """Start the clock of the current task; the task is the handle for the other methods."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        # Narrows the type: a request always runs in a task.
        assert task is not None  # noqa: S101
        self._running[task] = loop.time() + self.limit
        if self._sweeping_on is not loop:  # no sweep yet, or it ended, or ran on a closed loop
            self._sweep_soon(loop)
        return task

    def stop(self, task: Task) -> None:
        """No deadline any more (the response started, or the request is over)."""
        if self._running.pop(task, None) is None and (self._paused or self._expired):
            self._paused.pop(task, None)
            self._expired.pop(task, None)

    def pause(self, task: Task) -> None:
        deadline = self._running.pop(task, None)
        if deadline is not None:
            self._paused[task] = deadline - asyncio.get_running_loop().time()

    def resume(self, task: Task) -> None:
        """Count again, unless the clock was stopped (or expired) meanwhile."""
        remaining = self._paused.pop(task, None)
        if remaining is not None:
            loop = asyncio.get_running_loop()
            self._running[task] = loop.time() + remaining
            if self._sweeping_on is not loop:
                self._sweep_soon(loop)

    def caused(self, task: Task) -> bool:
        """Whether the CancelledError being handled is this clock's doing; if so, undo it.

        Like `asyncio.timeout`: a cancellation someone else requested meanwhile still propagates.
        """
        before = self._expired.pop(task, None)
        return before is not None and task.uncancel() <= before

    def _sweep_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeping_on = loop
        loop.call_later(self.interval, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._sweeping_on:
            return
        now = loop.time()
        late = [task for task, deadline in self._running.items() if deadline <= now]
        for task in late:
            del self._running[task]
            if task.get_loop() is loop:  # not a leftover of an event loop closed meanwhile
                self._expired[task] = task.cancelling()
                task.cancel()
        if self._running:
            loop.call_later(self.interval, self._sweep, loop)
        else:
            self._sweeping_on = None
