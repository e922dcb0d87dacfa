"""A real HTTP/1.1 upstream on 127.0.0.1 that misbehaves on purpose, for the outbound tests.

It runs its own event loop in a thread, so the client under test talks to it over real sockets
(keep-alive, resets, timeouts) and its faults do not stall the test's loop. It records every
request it receives, so a test can count what reached it.

Faults come from `script` (consumed in order) or, when the script is empty, are drawn at
`fault_rate` from `fault_mix`. Each draw is seeded by (seed, path, how often that path was
requested), so a run's faults do not depend on how concurrent requests interleave.
`down = True` answers every request with a 503. A SLOW answer comes after `slow_seconds`, or
once the test calls `release_slow()`.

`python -m tests.faulty_upstream` serves without faults and prints its port (for benchmarks).
"""

import asyncio
import json
import random
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Generator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.utils import formatdate
from enum import StrEnum


class Fault(StrEnum):
    NONE = "none"
    UNAVAILABLE = "503"
    RETRY_AFTER_SECONDS = "503 with Retry-After in seconds"
    RETRY_AFTER_DATE = "503 with Retry-After as an HTTP date"
    TOO_MANY_REQUESTS = "429"
    SERVER_ERROR = "500 with internals in the body"
    RESET = "connection reset"
    SLOW = "answer after slow_seconds"


TRANSIENT_FAULTS = (
    Fault.UNAVAILABLE,
    Fault.UNAVAILABLE,
    Fault.RETRY_AFTER_SECONDS,
    Fault.RETRY_AFTER_DATE,
    Fault.TOO_MANY_REQUESTS,
    Fault.RESET,
    Fault.SLOW,
)

INTERNALS = b"Traceback: db password hunter2 at upstream.internal:5432"

_REASONS = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Unavailable"}


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FaultyUpstream:
    def __init__(self, *, seed: int = 0) -> None:
        self.port = 0
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        self.script: deque[Fault] = deque()
        self.fault_rate = 0.0
        self.fault_mix: tuple[Fault, ...] = TRANSIENT_FAULTS
        self.down = False
        self.retry_after_seconds = 0
        self.retry_after_date_offset = 0.0
        self.slow_seconds = 1.0
        self.faults_served: dict[Fault, int] = {}
        self.seed = seed
        self._requests_per_path: dict[str, int] = {}
        self._connections: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slow_released = asyncio.Event()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def hits(self, path: str | None = None) -> list[Received]:
        return [r for r in self.received if path is None or r.path.split("?")[0] == path]

    def hits_once_arrived(self, path: str, count: int, timeout: float = 30) -> list[Received]:
        """The hits of `path` once at least `count` have arrived: a client that gave up early
        (a budget, a timeout) may be ahead of this server's thread on a loaded machine."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.hits(path)) >= count, timeout)
        return self.hits(path)

    @classmethod
    @contextmanager
    def running(cls, *, seed: int = 0) -> Generator["FaultyUpstream"]:
        upstream = cls(seed=seed)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="faulty-upstream", daemon=True)
        thread.start()
        upstream._loop = loop
        try:
            server = asyncio.run_coroutine_threadsafe(
                asyncio.start_server(upstream._serve_connection, "127.0.0.1", 0), loop
            ).result(5)
            upstream.port = server.sockets[0].getsockname()[1]
            try:
                yield upstream
            finally:
                asyncio.run_coroutine_threadsafe(upstream._shutdown(server), loop).result(5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()

    def release_slow(self) -> None:
        """Answer the requests a SLOW fault holds now, and later SLOW faults at once."""
        assert self._loop is not None, "the upstream is not running"
        self._loop.call_soon_threadsafe(self._slow_released.set)

    def _next_fault(self, path: str) -> Fault:
        if self.down:
            return Fault.UNAVAILABLE
        if self.script:
            return self.script.popleft()
        nth = self._requests_per_path[path] = self._requests_per_path.get(path, 0) + 1
        draw = random.Random(f"{self.seed}:{path}:{nth}")
        if draw.random() < self.fault_rate:
            return draw.choice(self.fault_mix)
        return Fault.NONE

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._serve_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        with self._arrived:
            self.received.append(Received(method, path, headers, body))
            self._arrived.notify_all()

        fault = self._next_fault(path)
        self.faults_served[fault] = self.faults_served.get(fault, 0) + 1
        if fault is Fault.RESET:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # linger 0: the kernel answers with RST, not FIN
            return False
        if fault is Fault.SLOW:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._slow_released.wait(), self.slow_seconds)

        status, extra, payload = self._answer(fault, method, path)
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in extra]
        lines += [f"Content-Length: {len(payload)}", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1") + payload)
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    def _answer(self, fault: Fault, method: str, path: str) -> tuple[int, list, bytes]:
        if fault in (Fault.NONE, Fault.SLOW):
            payload = json.dumps({"method": method, "path": path, "hits": len(self.received)})
            headers = [("Content-Type", "application/json"), ("Set-Cookie", "session=u1; Path=/")]
            return 200, headers, payload.encode()
        if fault is Fault.UNAVAILABLE:
            return 503, [], b"upstream overloaded"
        if fault is Fault.RETRY_AFTER_SECONDS:
            return 503, [("Retry-After", str(self.retry_after_seconds))], b""
        if fault is Fault.RETRY_AFTER_DATE:
            when = formatdate(time.time() + self.retry_after_date_offset, usegmt=True)
            return 503, [("Retry-After", when)], b""
        if fault is Fault.TOO_MANY_REQUESTS:
            return 429, [("Retry-After", str(self.retry_after_seconds))], b""
        return 500, [("Content-Type", "text/plain")], INTERNALS

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()


def main() -> None:
    with FaultyUpstream.running() as upstream:
        print(upstream.port, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main()
