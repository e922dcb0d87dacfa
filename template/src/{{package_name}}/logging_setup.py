"""Logging: one structlog pipeline for the service's own lines and for every stdlib logger.

Lines are JSON in production and readable in development (`LOG_FORMAT` overrides). Each carries
`timestamp`, `level`, `logger`, `event` and `request_id` (null outside a request), plus
`trace_id` and `span_id` while a sampled span is active when tracing is rendered.

Three paths lead to the same processors and the same stream:
- the access line (`AccessLog`, written by the request edge once per request) runs the
  processors and the renderer itself: it has fixed fields, so it needs none of a logger's
  machinery (context copy, level method, proxy, lock), which cost more than the line;
- structlog loggers render directly: no `LogRecord`, no handler lookup;
- stdlib loggers (uvicorn, SQLAlchemy, libraries, `logging.getLogger` in this service) reach one
  root handler whose `ProcessorFormatter` runs the same processors.

Lines written on the event loop reach standard error once per loop iteration, together (see
`_StandardError`): one write system call for many lines under load.

Values of fields named like a secret (`Authorization`, `Cookie`, `Set-Cookie`, and the names in
`LOG_REDACT_KEYS`) are replaced by `[REDACTED]` at any depth of a field, including header lists.
Free text in `event` is not inspected: never format a secret into a message.
"""

import asyncio
import atexit
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, cast

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from .request_context import current_request_id
from .settings import Settings

ALWAYS_REDACTED = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
REDACTED = "[REDACTED]"


class _RequestIdRecordFactory:
    """Stamps the current request id on every stdlib record, for handlers other than ours."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record


def _install_request_id_factory() -> None:
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RequestIdRecordFactory):
        logging.setLogRecordFactory(_RequestIdRecordFactory(current))


def add_request_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("request_id", current_request_id())
    return event_dict


class UtcTimestamp:
    """A processor: `timestamp` as ISO 8601 in UTC with microseconds (`...T02:56:06.940103Z`).

    structlog's `TimeStamper` builds a `datetime` for every line; this formats each second once
    and adds the microseconds, a quarter of the cost, on a path every line takes.
    """

    def __init__(self) -> None:
        self._second_and_prefix = (-1, "")  # one attribute, so threads never see a torn pair

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        now = time.time()
        second, prefix = self._second_and_prefix
        if int(now) != second:
            second = int(now)
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second_and_prefix = (second, prefix)
        event_dict["timestamp"] = f"{prefix}.{int((now - second) * 1_000_000):06d}Z"
        return event_dict


def drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """uvicorn passes a copy of each message with terminal colours as an extra: keep one."""
    event_dict.pop("color_message", None)
    return event_dict


def _field_key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


class Redactor:
    """A processor that hides the values of secret-named fields, however deeply nested."""

    _CONTAINERS = frozenset({dict, list, tuple})
    _MAX_REMEMBERED_NAMES = 4096

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self.keys = ALWAYS_REDACTED | {_field_key(key) for key in keys}
        # Field names come from code and repeat on every line: classify each name once, then
        # find a line's secret fields with set operations instead of a check per field.
        self._known_names: set[str] = set()
        self._secret_names: set[str] = set()

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        names = event_dict.keys()
        if not names <= self._known_names:
            self._learn(names - self._known_names)
        for name in names & self._secret_names:
            event_dict[name] = REDACTED
        if not self._CONTAINERS.isdisjoint(map(type, event_dict.values())):  # rare: nested values
            for name, value in event_dict.items():
                if type(value) in self._CONTAINERS:
                    event_dict[name] = self._scrub(value)
        return event_dict

    def _learn(self, names: set[str]) -> None:
        for name in names:
            if self._is_secret(name):
                self._secret_names.add(name)
        if len(self._known_names) < self._MAX_REMEMBERED_NAMES:
            self._known_names |= names

    def _is_secret(self, name: object) -> bool:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        return isinstance(name, str) and _field_key(name) in self.keys

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: REDACTED if self._is_secret(key) else self._scrub(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            if len(value) == 2 and self._is_secret(value[0]):  # a (name, value) header pair
                return type(value)((value[0], REDACTED))
            return type(value)(self._scrub(item) for item in value)
        return value


class _StandardError:
    """`sys.stderr` as it is when a line is written, not when logging was configured.

    Test runners and tools swap `sys.stderr` for a while; a handler holding the old object
    would write to a closed stream once they put it back.

    Lines written on a thread running an event loop are held until the loop's current
    iteration ends, then written with one call. Under load a worker serves several requests an
    iteration, and when standard error is a pipe (a container runtime's log collector) a write
    system call per line is the largest part of an access line's cost. A line written off the
    loop (startup, shutdown, worker threads) first writes what is held, so lines keep their
    order. `flush_held_lines()` writes what is held at once (the server calls it before a
    worker exits; tests call it before reading the output).
    """

    def __init__(self) -> None:
        self._held: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            with self._lock:
                self._write_held()
                sys.stderr.write(text)
            return len(text)
        with self._lock:
            if not self._held:
                loop.call_soon(self.write_held)
            self._held.append(text)
        return len(text)

    def write_held(self) -> None:
        with self._lock:
            self._write_held()

    def _write_held(self) -> None:
        if self._held:
            text = "".join(self._held)
            self._held.clear()
            sys.stderr.write(text)

    def flush(self) -> None:
        """Called after each line by the handlers: held lines wait for the loop's iteration end."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.write_held()
            sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


_STANDARD_ERROR = _StandardError()
atexit.register(_STANDARD_ERROR.write_held)


def flush_held_lines() -> None:
    """Write the log lines held until the end of the event loop's iteration, now."""
    _STANDARD_ERROR.write_held()
    sys.stderr.flush()


def _json_dumps(event_dict: EventDict, default: Callable[[Any], Any]) -> str:
    # orjson: a tenth of the time of json.dumps, on a line written for every request.
    return orjson.dumps(event_dict, default=default, option=orjson.OPT_NON_STR_KEYS).decode()


def _renderer(json_lines: bool, stream: Any) -> list[Processor]:
    if json_lines:
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_json_dumps),
        ]
    return [structlog.dev.ConsoleRenderer(colors=stream.isatty())]


class AccessLog:
    """The access line, written by the request edge once per request (`middleware/telemetry.py`).

    It goes through the same processors, renderer and stream as every other line, called here
    directly: a structlog logger would add a context copy, a level method, a proxy call and a
    lock to a line whose fields are always the same, and those cost more than the line itself.
    Requests the platform makes (probes) are written at DEBUG, the others at INFO.
    """

    __slots__ = ("debug_enabled", "info_enabled", "logger_name", "processors", "stream")

    def __init__(
        self, logger_name: str, processors: Sequence[Processor], stream: TextIO, level: int
    ) -> None:
        self.logger_name = logger_name
        self.processors: tuple[Callable[..., Any], ...] = tuple(processors)
        self.stream = stream
        self.info_enabled = level <= logging.INFO
        self.debug_enabled = level <= logging.DEBUG

    def write(
        self,
        *,
        platform: bool,
        method: str,
        route: str,
        status: int | None,
        duration_ms: float,
        client: str | None,
    ) -> None:
        if not (self.debug_enabled if platform else self.info_enabled):
            return
        method_name = "debug" if platform else "info"
        line: Any = {
            "logger": self.logger_name,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "client": client,
            "event": "request",
        }
        for processor in self.processors:
            line = processor(None, method_name, line)
        self.stream.write(line + "\n")


class LogPipeline:
    """What `configure_logging` set up, for the parts of the service that write on their own."""

    def __init__(self, processors: Sequence[Processor], stream: TextIO, level: int) -> None:
        self.processors = processors
        self.stream = stream
        self.level = level

    def access_log(self, logger_name: str) -> AccessLog:
        # An access line never carries an exception, so the step that formats one is skipped.
        processors = [p for p in self.processors if p is not structlog.processors.format_exc_info]
        return AccessLog(logger_name, processors, self.stream, self.level)


def configure_logging(
    settings: Settings, *, extra_processors: Sequence[Processor] = ()
) -> LogPipeline:
    """Route structlog and stdlib logging through one pipeline at `settings.log_level`.

    `extra_processors` run after the request id is added (tracing adds trace ids there).
    """
    _install_request_id_factory()
    stream = cast(TextIO, _STANDARD_ERROR)
    json_lines = settings.log_json_lines
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        add_request_id,
        *extra_processors,
        UtcTimestamp(),
        Redactor(settings.log_redact_keys),
    ]
    renderer = _renderer(json_lines, stream)
    level = logging.getLevelNamesMapping()[settings.log_level]
    structlog.configure(
        processors=[*shared, *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(stream),
        # Loggers bound once (the access log binds at app creation) are fast either way; not
        # caching lets a new configuration (another app, a test) reach module-level loggers.
        cache_logger_on_first_use=False,
    )

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.ExtraAdder(),
                drop_color_message,
                structlog.stdlib.add_logger_name,
                *shared,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The service writes its own access line (with the route template and request id);
    # uvicorn's would duplicate it with the raw path, so only its warnings pass.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return LogPipeline([*shared, *renderer], stream, level)
