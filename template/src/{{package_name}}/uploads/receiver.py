"""Streaming multipart: the file goes straight to a staging file, never whole into memory.

The body arrives through the request edge, which holds it to the route's own cap (`body_cap`,
413 past it) and bounds each wait for the next piece (408). python-multipart's low-level
`MultipartParser` splits it into parts as it arrives; this module decides what a part may be:

- at most `max_parts` parts, exactly one of them a file, the others text fields of at most
  `max_field_bytes` each, kept in memory;
- the file's type is sniffed from its first bytes as soon as they are in (`sniff.py`), and a
  type outside the allowlist is refused before the rest is read;
- the file is written to a staging file and hashed (SHA-256) in worker threads, a batch of
  about `FLUSH_BYTES` at a time, while the next batch arrives (two batches at most in memory,
  whatever the file size; the body is not read further until the earlier batch is written);
- archives are inspected (`archives.py`) once complete, then the store takes the file (`put`).

Whatever ends an upload early closes and removes the staging file. A refusal, the cap, the
body read timeout or a disconnect wait for the thread working on the file (if any), so the file
is gone before the answer leaves. A thread cannot be interrupted: when the request timeout or
the drain cancels the handler, the cancellation goes on at once and the file is removed as soon
as that thread returns, never under it (closing a descriptor a thread still writes to could
send its bytes into whatever file reuses the number).
"""

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ..settings import Settings
from .archives import ArchiveLimits, inspect_archive
from .names import clean_filename
from .refusals import UploadRefused
from .sniff import ARCHIVE_TYPES, SNIFF_BYTES, sniff
from .storage import UploadStore

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

Result = TypeVar("Result")

FLUSH_BYTES = 128 * 1024
"""File data gathered before it is written; an upload holds two such batches at most."""

MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 8 * 1024


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    max_parts: int
    max_field_bytes: int
    allowed_types: frozenset[str]
    archive_limits: ArchiveLimits

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            max_parts=settings.upload_max_parts,
            max_field_bytes=settings.upload_max_field_bytes,
            allowed_types=frozenset(settings.upload_allowed_types),
            archive_limits=ArchiveLimits(
                max_entries=settings.upload_archive_max_entries,
                max_total_bytes=settings.upload_archive_max_total_bytes,
                max_ratio=settings.upload_archive_max_ratio,
            ),
        )


@dataclass(frozen=True, slots=True)
class AcceptedUpload:
    key: str
    sha256: str
    size: int
    content_type: str
    filename: str | None
    fields: dict[str, str] = field(default_factory=dict)


async def receive_upload(
    request: Request, policy: UploadPolicy, store: UploadStore
) -> AcceptedUpload:
    """Receive the request's one file, check it, and hand it to the store."""
    parts = _Parts(policy)
    parser = MultipartParser(
        _boundary(request.headers.get("content-type")),
        parts.callbacks(),
        max_header_count=MAX_PART_HEADERS,
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    # Created here, not in a thread: a cancellation while a thread created it would lose it.
    staged = _StagedFile(store.staging_dir)
    try:
        key = await _receive_into(staged, request, parser, parts, policy, store)
    except asyncio.CancelledError:  # the drain or the request timeout: no waiting any more
        staged.discard()
        raise
    except ClientDisconnect:
        await staged.discard_when_settled()
        raise UploadRefused("client-disconnected") from None
    except BaseException:
        await staged.discard_when_settled()
        raise
    assert parts.content_type is not None  # noqa: S101 - decided when the file part ended
    return AcceptedUpload(
        key=key,
        sha256=staged.sha256.hexdigest(),
        size=staged.size,
        content_type=parts.content_type,
        filename=parts.filename,
        fields=parts.fields,
    )


async def _receive_into(
    staged: "_StagedFile",
    request: Request,
    parser: MultipartParser,
    parts: "_Parts",
    policy: UploadPolicy,
    store: UploadStore,
) -> str:
    """Stream the body into `staged`, check it, hand it to the store; returns the stored key."""
    async for chunk in request.stream():
        try:
            parser.write(chunk)
        except MultipartParseError as bad:
            raise UploadRefused("malformed-multipart", reason=str(bad), close=True) from None
        if parts.pending_bytes >= FLUSH_BYTES:
            await staged.write_soon(parts.take_pending())
    parser.finalize()
    parts.check_complete()
    await staged.write_soon(parts.take_pending())
    await staged.in_thread(staged.file.close)
    content_type = parts.content_type
    if content_type in ARCHIVE_TYPES:
        limits = policy.archive_limits
        await staged.in_thread(inspect_archive, staged.path, content_type, limits)
    return await staged.in_thread(store.put, staged.path, staged.sha256.hexdigest())


def _boundary(content_type: str | None) -> bytes:
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    # RFC 2046: a boundary is 1 to 70 characters.
    if media_type != b"multipart/form-data" or not boundary or len(boundary) > 70:
        raise UploadRefused("not-multipart", close=True)
    return boundary


class _StagedFile:
    """The staging file of one upload. Its blocking work runs in a thread, through `in_thread`."""

    def __init__(self, directory: Path) -> None:
        descriptor, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")
        self.path = Path(name)
        self.file = os.fdopen(descriptor, "wb", buffering=0)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self._working: asyncio.Future[Any] | None = None

    async def in_thread(self, function: Callable[..., Result], *args: object) -> Result:
        """Run `function(*args)` in a worker thread once the earlier work is done. A
        cancellation of the caller does not wait for the thread; `shield` keeps the thread's
        future alive for `discard` to wait on."""
        await self._settle()
        working = asyncio.get_running_loop().run_in_executor(None, function, *args)
        self._working = working
        return await asyncio.shield(working)

    async def write_soon(self, pieces: list[memoryview]) -> None:
        """Start writing and hashing `pieces` once the previous batch is done, and return: the
        next batch is received meanwhile. Writing and hashing both release the GIL, so each
        gets a thread of its own and they run side by side on two cores."""
        await self._settle()
        self.size += sum(len(piece) for piece in pieces)
        loop = asyncio.get_running_loop()
        hashing = loop.run_in_executor(None, self._hash, pieces)
        writing = loop.run_in_executor(None, self._write, pieces)
        self._working = asyncio.ensure_future(_both(hashing, writing))

    async def _settle(self) -> None:
        """Wait for the work in flight; its error (a full disk, say) is raised here."""
        if self._working is not None:
            await asyncio.shield(self._working)

    def _hash(self, pieces: list[memoryview]) -> None:
        for piece in pieces:
            self.sha256.update(piece)

    def _write(self, pieces: list[memoryview]) -> None:
        for piece in pieces:
            while piece:  # a write to a regular file is whole unless the disk is full
                piece = piece[self.file.write(piece) :]

    def discard(self) -> None:
        """Close and remove the file now, or when the thread working on it returns."""
        working = self._working
        if working is not None:
            if not working.done():
                working.add_done_callback(lambda _: self.discard())
                return
            if not working.cancelled():
                working.exception()  # the upload failed anyway: its error is not news
        self.file.close()
        self.path.unlink(missing_ok=True)

    async def discard_when_settled(self) -> None:
        """Wait for the work in flight, then close and remove the file (before the answer)."""
        try:
            if self._working is not None:
                await asyncio.wait([self._working])
        finally:
            self.discard()


async def _both(first: "asyncio.Future[None]", second: "asyncio.Future[None]") -> None:
    """Done when both are (never earlier, even when one fails: a thread may still be running)."""
    await asyncio.wait([first, second])
    first.result()
    second.result()


class _Parts:
    """The parser's callbacks: what each part is, and where its data goes."""

    def __init__(self, policy: UploadPolicy) -> None:
        self.policy = policy
        self.count = 0
        self.ended = False
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type: str | None = None
        self.pending: list[memoryview] = []
        self.pending_bytes = 0
        self._file_seen = False
        self._in_file = False
        self._head = bytearray()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition: bytes | None = None
        self._field_name = ""
        self._field_value = bytearray()

    def callbacks(self) -> "MultipartCallbacks":
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def take_pending(self) -> list[memoryview]:
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        return pending

    def check_complete(self) -> None:
        if not self.ended:
            raise UploadRefused("malformed-multipart", reason="the closing boundary is missing")
        if not self._file_seen:
            raise UploadRefused("no-file")

    def part_begin(self) -> None:
        self.count += 1
        if self.count > self.policy.max_parts:
            raise UploadRefused("too-many-parts", limit=self.policy.max_parts, close=True)
        self._disposition = None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def headers_finished(self) -> None:
        kind, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if kind != b"form-data" or name is None:
            reason = "a part has no Content-Disposition: form-data with a name"
            raise UploadRefused("malformed-multipart", reason=reason, close=True)
        filename = options.get(b"filename")
        self._in_file = filename is not None
        if filename is not None:
            if self._file_seen:
                raise UploadRefused("one-file", close=True)
            self._file_seen = True
            # Browsers send the name as raw UTF-8 (the parser hands its bytes back unchanged).
            self.filename = clean_filename(filename.decode("utf-8", errors="replace"))
        else:
            self._field_name = name.decode("utf-8", errors="replace")
            self._field_value = bytearray()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            if len(self._field_value) + end - start > self.policy.max_field_bytes:
                limit = self.policy.max_field_bytes
                field_name = self._field_name
                raise UploadRefused("field-too-large", field=field_name, limit=limit, close=True)
            self._field_value += data[start:end]
            return
        piece = memoryview(data)[start:end]
        if self.content_type is None:
            self._head += piece[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._decide_type()
        self.pending.append(piece)
        self.pending_bytes += len(piece)

    def part_end(self) -> None:
        if self._in_file:
            if self.content_type is None:  # a file shorter than the sniffed prefix
                self._decide_type()
            return
        try:
            self.fields[self._field_name] = self._field_value.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadRefused("field-not-text", field=self._field_name, close=True) from None

    def end(self) -> None:
        self.ended = True

    def _decide_type(self) -> None:
        media_type = sniff(bytes(self._head))
        if media_type is None or media_type not in self.policy.allowed_types:
            allowed = ", ".join(sorted(self.policy.allowed_types))
            raise UploadRefused("type-not-allowed", allowed=allowed, close=True)
        self.content_type = media_type
