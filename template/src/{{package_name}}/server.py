"""The production server: uvicorn run with our settings, and a graceful drain on SIGTERM or SIGINT.

The drain, in order (docs/drain.md explains each step and how to size the settings):

1. The signal arrives: `/health/ready` answers 503 and every response carries `Connection: close`.
2. For `DRAIN_DELAY` seconds new connections are still accepted and served, while load
   balancers notice the 503 (or the orchestrator's endpoint removal) and stop routing here.
3. The listener closes, so new connections are refused, and idle keep-alive connections close.
4. In-flight requests finish, until `DRAIN_TIMEOUT` seconds after the signal.
5. Those still running then are cancelled and counted in one log line.
6. Lifespan shutdown closes the app's resources; the process exits 0.

Further signals during the drain are ignored: wrappers such as `uv run` deliver Ctrl+C a second
time, and a second signal must not cut the drain short. SIGKILL stops the process at once.

With `WORKERS` above 1 a supervisor process binds the socket, starts the workers, and forwards
the signal to each of them as SIGTERM; every worker then drains as above.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Generator, Sequence
from multiprocessing.connection import wait
from multiprocessing.context import ForkProcess

import uvicorn
from fastapi import FastAPI

from .drain import Drain
from .logging_setup import configure_logging, flush_held_lines
from .main import create_app
from .settings import Settings

logger = logging.getLogger(__name__)

AppFactory = Callable[[Settings], FastAPI]

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# The exit code of a worker whose app failed to start, as `uvicorn.run` uses it.
STARTUP_FAILURE = 3
# After the deadline, how long the cancelled requests get to send their 503 or see their
# connection cut before the lifespan shutdown closes what they might still be using.
CANCEL_GRACE_SECONDS = 1.0
_CLOSED_POLL_SECONDS = 0.05


def serve(settings: Settings, app_factory: AppFactory = create_app) -> None:
    """Serve until SIGTERM or SIGINT, then drain; exits the process when done."""
    configure_logging(settings)
    sock = _listen(settings)
    host, port = sock.getsockname()[:2]
    logger.info(
        "serving on http://%s:%d with %d worker(s); drain: %.1f s delay, %.1f s timeout",
        host if ":" not in host else f"[{host}]",
        port,
        settings.workers,
        settings.effective_drain_delay,
        settings.drain_timeout,
    )
    if settings.workers == 1:
        # Held until the server can drain; see DrainingServer.capture_signals.
        signal.pthread_sigmask(signal.SIG_BLOCK, DRAIN_SIGNALS)
        run_worker(app_factory, settings, sock, DRAIN_SIGNALS)
    else:
        sys.exit(Supervisor(settings, app_factory, sock).run())


def uvicorn_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        lifespan="on",
        server_header=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        # X-Forwarded-For/-Proto are applied by the app's edge, only from TRUSTED_PROXIES.
        proxy_headers=False,
        log_config=None,  # the app's logging setup owns the handlers
        access_log=False,
    )


def run_worker(
    app_factory: AppFactory,
    settings: Settings,
    sock: socket.socket,
    signals: Sequence[int],
) -> None:
    """Build the app and serve it on `sock` until one of `signals`, then drain."""
    if signal.SIGINT not in signals:
        # Ctrl+C in a terminal reaches every process of the group; the supervisor forwards it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    app = app_factory(settings)
    server = DrainingServer(
        uvicorn_config(app, settings),
        drain=app.state.drain,
        delay=settings.effective_drain_delay,
        timeout=settings.drain_timeout,
        signals=signals,
    )
    try:
        server.run(sockets=[sock])
    finally:
        flush_held_lines()  # a worker process exits without running atexit hooks
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _listen(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        return socket.create_server((settings.host, settings.port), family=family, backlog=2048)
    except OSError as error:
        sys.exit(f"cannot listen on {settings.host}:{settings.port}: {error.strerror}")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose signal handling and shutdown are the drain described above."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        drain: Drain,
        delay: float,
        timeout: float,
        signals: Sequence[int] = DRAIN_SIGNALS,
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.delay = delay
        self.timeout = timeout
        self.signals = tuple(signals)
        self.accepting = True

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # Replaces uvicorn's handlers, which close the listener at once and re-raise the signal
        # after shutdown (the process would then die of SIGTERM instead of exiting 0).
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        for sig in self.signals:
            loop.add_signal_handler(sig, self._on_signal, sig)
        # The signals were blocked while the app was imported and built, so one that arrived
        # meanwhile was held rather than killing the process; it is delivered here.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, DRAIN_SIGNALS)
        try:
            yield
        finally:
            for sig in self.signals:
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if not self.drain.begin(self.timeout):
            logger.info("drain: %s ignored, the drain is under way", name)
            return
        logger.info(
            "drain: %s received; /health/ready answers 503; %d request(s) in flight; "
            "the listener closes in %.1f s, in-flight requests are cancelled after %.1f s",
            name,
            self.drain.in_flight,
            self.delay,
            self.timeout,
        )
        asyncio.get_running_loop().call_later(self.delay, self._end_delay)

    def _end_delay(self) -> None:
        self._stop_accepting()
        self.should_exit = True  # uvicorn's main loop sees this within 0.1 s and calls `shutdown`

    def _stop_accepting(self) -> None:
        if not self.accepting:
            return
        self.accepting = False
        for server in self.servers:
            server.close()  # closes the listening socket, also when it was passed in
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alive ones close now, busy ones after their response
        logger.info(
            "drain: listener closed at +%d ms; waiting up to %d ms for %d request(s) in flight",
            _ms(self.drain.elapsed()),
            max(0, _ms(self.drain.deadline - time.monotonic())),
            self.drain.in_flight,
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        drain = self.drain
        drain.begin(self.timeout)  # no-op after a signal, which is how we get here
        self._stop_accepting()
        if await drain.wait_for_in_flight(0):
            logger.info("drain: no request in flight at +%d ms", _ms(drain.elapsed()))
            await self._connections_closed(until=drain.deadline)
        else:
            await self._cancel_in_flight()
        await self.lifespan.shutdown()
        logger.info("drain: lifespan shutdown finished at +%d ms", _ms(drain.elapsed()))

    async def _cancel_in_flight(self) -> None:
        drain = self.drain
        not_started, started = drain.cancel_in_flight()
        grace_until = time.monotonic() + CANCEL_GRACE_SECONDS
        await drain.wait_for_in_flight(started, until=grace_until)  # their 503s are sent
        for connection in list(self.server_state.connections):
            connection.transport.close()  # ends the responses that had already started
        await drain.wait_for_in_flight(0, until=grace_until)
        still_running = drain.in_flight
        logger.warning(
            "drain: deadline reached at +%d ms; cancelled %d request(s) still in flight "
            "(%d answered 503, %d cut mid-response%s)",
            _ms(drain.elapsed()),
            not_started + started,
            drain.answered_503,
            drain.cut_mid_response,
            f", {still_running} ignored the cancellation" if still_running else "",
        )

    async def _connections_closed(self, until: float) -> None:
        # A finished request may still have response bytes queued on its connection. Polled:
        # uvicorn has no event for a connection closing.
        while self.server_state.connections and time.monotonic() < until:  # noqa: ASYNC110
            await asyncio.sleep(_CLOSED_POLL_SECONDS)


class Supervisor:
    """Runs the workers on one listening socket; SIGTERM or SIGINT drains every one of them.

    uvicorn's own supervisor (`uvicorn.supervisors.Multiprocess`) does not fit: its workers run
    uvicorn's `Server`, which closes the listener the moment the signal arrives, and it keeps its
    copy of the listening socket open until it exits, so after the workers close theirs new
    connections would wait in the backlog instead of being refused. A worker that dies is
    replaced, as uvicorn does; one that fails to start stops the service (exit code 3).
    """

    def __init__(self, settings: Settings, app_factory: AppFactory, sock: socket.socket) -> None:
        self.settings = settings
        self.app_factory = app_factory
        self.sock = sock
        # Forked, not spawned: a worker starts without importing the app again, shares the
        # supervisor's memory until it writes to it, and inherits the blocked signal mask.
        self.context = multiprocessing.get_context("fork")
        self.workers: list[ForkProcess] = []
        self.stop_signal: int | None = None
        self._wake_read, self._wake_write = os.pipe()

    def run(self) -> int:
        for sig in DRAIN_SIGNALS:
            signal.signal(sig, self._on_signal)
        self.workers = [self._start_worker() for _ in range(self.settings.workers)]
        started_ok = True
        while self.stop_signal is None and started_ok:
            wait([self._wake_read, *(worker.sentinel for worker in self.workers)])
            if self.stop_signal is None:
                started_ok = self._replace_exited_workers()
        if self.stop_signal is not None:
            logger.info(
                "%s received; draining %d worker(s)",
                signal.Signals(self.stop_signal).name,
                len(self.workers),
            )
        self._signal_workers()
        # Each worker closes its copy of the socket after the drain delay; this was the last
        # other copy, so new connections are refused from then on.
        self.sock.close()
        for worker in self.workers:
            worker.join()
        if not started_ok:
            return STARTUP_FAILURE
        failed = [worker for worker in self.workers if worker.exitcode != 0]
        for worker in failed:
            logger.error("worker %d exited with code %s", worker.pid, worker.exitcode)
        return 1 if failed else 0

    def _start_worker(self) -> ForkProcess:
        worker = self.context.Process(
            target=run_worker,
            args=(self.app_factory, self.settings, self.sock, (signal.SIGTERM,)),
        )
        # The worker inherits the blocked signals: one sent while it starts waits for its drain.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, DRAIN_SIGNALS)
        try:
            worker.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return worker

    def _replace_exited_workers(self) -> bool:
        for index, worker in enumerate(self.workers):
            if worker.exitcode is None:
                continue
            if worker.exitcode == STARTUP_FAILURE:
                logger.error("worker %d failed to start; stopping the service", worker.pid)
                return False
            logger.warning(
                "worker %d exited with code %s; starting a replacement", worker.pid, worker.exitcode
            )
            self.workers[index] = self._start_worker()
        return True

    def _on_signal(self, sig: int, _frame: object) -> None:
        if self.stop_signal is None:  # later signals are ignored, as in the workers
            self.stop_signal = sig
            os.write(self._wake_write, b"\0")

    def _signal_workers(self) -> None:
        for worker in self.workers:
            if worker.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)
