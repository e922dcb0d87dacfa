"""Logging: one structlog pipeline for the service's own lines and for every stdlib logger.

Lines are JSON in production and readable in development (`LOG_FORMAT` overrides). Each carries
`timestamp`, `level`, `logger`, `event` and `request_id` (null outside a request), plus
`trace_id` and `span_id` while a sampled span is active when tracing is rendered.

Two paths lead to the same processors and the same stream:
- structlog loggers (the access log) render directly: no `LogRecord`, no handler lookup, a few
  microseconds a line, which matters for a line written on every request;
- stdlib loggers (uvicorn, SQLAlchemy, libraries, `logging.getLogger` in this service) reach one
  root handler whose `ProcessorFormatter` runs the same processors.

Values of fields named like a secret (`Authorization`, `Cookie`, `Set-Cookie`, and the names in
`LOG_REDACT_KEYS`) are replaced by `[REDACTED]` at any depth of a field, including header lists.
Free text in `event` is not inspected: never format a secret into a message.
"""

import logging
import sys
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


def drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """uvicorn passes a copy of each message with terminal colours as an extra: keep one."""
    event_dict.pop("color_message", None)
    return event_dict


def _field_key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


class Redactor:
    """A processor that hides the values of secret-named fields, however deeply nested."""

    _CONTAINERS = (dict, list, tuple)
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
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


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


def configure_logging(settings: Settings, *, extra_processors: Sequence[Processor] = ()) -> None:
    """Route structlog and stdlib logging through one pipeline at `settings.log_level`.

    `extra_processors` run after the request id is added (tracing adds trace ids there).
    """
    _install_request_id_factory()
    stream = cast(TextIO, _StandardError())
    json_lines = settings.log_json_lines
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        add_request_id,
        *extra_processors,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
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
