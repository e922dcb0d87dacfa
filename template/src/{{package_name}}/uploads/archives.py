"""Archive inspection: a zip or (gzip-compressed) tar is read through before it is accepted.

Nothing is extracted. Each format's entries are read into the same `Entry` shape and checked by
one set of rules (`refusals.RULES`): entry count, total size, compression ratio, absolute
paths, `..`, links that leave the archive or are walked through, device files and duplicate
names. The first broken rule refuses the upload with a 422 that names it.

Why not `zipfile.extractall`/`tarfile.extractall`: the standard library's extractors trust the
archive (zip sizes as declared, tar links and devices as given; `tarfile`'s `data` filter
covers only part of this and only on extraction). Here nothing is written, and the sizes a zip
declares are verified: each entry is decompressed once, in pieces, through `zipfile`, which
stops at the declared size and checks the CRC, so a header that lies about its size is refused
as unreadable instead of being believed. A gzip-compressed tar is decompressed once as its
entries are walked; the walk stops as soon as a limit is passed.

Memory: the zip central directory is read by `zipfile` into one object per entry; it is
bounded by the upload's own size (the route's body cap), and an archive that declares more
entries than allowed in its end record is refused before it is parsed.

Inspection is blocking I/O and CPU work: callers run it in a worker thread.
"""

import gzip
import posixpath
import re
import stat
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .refusals import UploadRefused

EntryKind = Literal["file", "directory", "symlink", "hardlink", "special"]

_READ_PIECE = 1024 * 1024
_LINK_TARGET_MAX_BYTES = 4096
_EOCD = struct.Struct("<4s4H2LH")  # zip end of central directory record
_EOCD_SIGNATURE = b"PK\x05\x06"
_EOCD_SEARCH_BYTES = _EOCD.size + 65535  # the record, and a comment of at most 64 KiB
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EOCD_SIGNATURE = b"PK\x06\x06"
_DRIVE = re.compile(r"^[A-Za-z]:")
# What the readers raise for a damaged or unsupported archive (`zipfile` raises RuntimeError for
# an encrypted entry and NotImplementedError for an unknown compression method).
_UNREADABLE = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    RuntimeError,
    NotImplementedError,
)


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: float


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    kind: EntryKind
    size: int = 0
    compressed_size: int | None = None
    """Known for zip entries; a tar is compressed as a whole, if at all."""
    link_target: str | None = None


class EntryChecks:
    """The rules every entry of an archive must pass, whatever the format."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.count = 0
        self.total = 0
        self.seen: set[str] = set()
        self.links: set[str] = set()

    def check(self, entry: Entry) -> None:
        limits = self.limits
        self.count += 1
        if self.count > limits.max_entries:
            raise UploadRefused("too-many-entries", limit=limits.max_entries)
        self.total += entry.size
        if self.total > limits.max_total_bytes:
            raise UploadRefused("total-size", limit=limits.max_total_bytes)
        if entry.compressed_size is not None and entry.size > limits.max_ratio * max(
            entry.compressed_size, 1
        ):
            subject = f"The archive entry {entry.name!r}"
            raise UploadRefused("compression-ratio", subject=subject, limit=limits.max_ratio)
        path = _checked_path(entry.name)
        if entry.kind == "special":
            raise UploadRefused("special-file", entry=entry.name)
        if entry.link_target is not None and _link_escapes(entry, path):
            raise UploadRefused("link-escape", entry=entry.name)
        if any(parent in self.links for parent in _parents(path)):
            raise UploadRefused("path-through-link", entry=entry.name)
        key = unicodedata.normalize("NFC", path).casefold()
        if key in self.seen:
            raise UploadRefused("duplicate-name", entry=entry.name)
        self.seen.add(key)
        if entry.kind == "symlink":
            self.links.add(path)


def inspect_archive(path: Path, media_type: str, limits: ArchiveLimits) -> None:
    """Refuse the archive at `path` (an `UploadRefused`) unless every entry passes every rule."""
    checks = EntryChecks(limits)
    try:
        if media_type == "application/zip":
            for entry in _zip_entries(path, limits):
                checks.check(entry)
        else:
            compressed = media_type == "application/gzip"
            for entry in _tar_entries(path, compressed=compressed):
                checks.check(entry)
            if compressed:
                _check_stream_ratio(path, checks.total + 512 * checks.count, limits)
    except _UNREADABLE as bad:
        raise UploadRefused("archive-unreadable", reason=_reason(bad)) from None
    except UnicodeDecodeError:
        raise UploadRefused("archive-unreadable", reason="an entry name is not text") from None


def _reason(error: Exception) -> str:
    return str(error).rstrip(".") or type(error).__name__


def _checked_path(name: str) -> str:
    """The entry's path, normalised; refuses absolute paths and '..'."""
    slashed = name.replace("\\", "/")  # a separator on Windows, where archives get extracted too
    if slashed.startswith("/") or _DRIVE.match(slashed):
        raise UploadRefused("absolute-path", entry=name)
    if ".." in slashed.split("/"):
        raise UploadRefused("parent-traversal", entry=name)
    return posixpath.normpath(slashed)


def _parents(path: str) -> Iterator[str]:
    parent = posixpath.dirname(path)
    while parent:
        yield parent
        parent = posixpath.dirname(parent)


def _link_escapes(entry: Entry, path: str) -> bool:
    target = (entry.link_target or "").replace("\\", "/")
    if not target or target.startswith("/") or _DRIVE.match(target):
        return True
    # A symbolic link resolves from its own folder; a tar hard link names a member by its path.
    base = posixpath.dirname(path) if entry.kind == "symlink" else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    return resolved == ".." or resolved.startswith("../")


def _zip_entries(path: Path, limits: ArchiveLimits) -> Iterator[Entry]:
    declared = _zip_declared_entries(path)
    if declared is not None and declared > limits.max_entries:
        raise UploadRefused("too-many-entries", limit=limits.max_entries)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise UploadRefused("too-many-entries", limit=limits.max_entries)
        for info in infos:
            entry = _zip_entry(archive, info)
            yield entry
            if entry.kind == "file":
                _read_through(archive, info)


def _zip_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Entry:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: made on Unix
    kind: EntryKind = "directory" if info.is_dir() else "file"
    target = None
    if stat.S_ISLNK(mode):
        kind = "symlink"
        with archive.open(info) as link:
            target = link.read(_LINK_TARGET_MAX_BYTES).decode("utf-8")
    # Some writers set only the permission bits: no file type is a plain file or folder.
    elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "special"
    return Entry(info.filename, kind, info.file_size, info.compress_size, target)


def _read_through(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Decompress one entry without keeping it: `zipfile` stops at the declared size and raises
    `BadZipFile` when the CRC does not match, so the declared sizes are the true ones."""
    with archive.open(info) as member:
        while member.read(_READ_PIECE):
            pass


def _zip_declared_entries(path: Path) -> int | None:
    """The entry count the zip's end record declares, read before `zipfile` parses the whole
    central directory; None when there is no readable end record (zipfile then refuses)."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        file.seek(max(0, size - _EOCD_SEARCH_BYTES))
        tail = file.read()
        at = tail.rfind(_EOCD_SIGNATURE)
        if at < 0 or len(tail) - at < _EOCD.size:
            return None
        total_entries = _EOCD.unpack_from(tail, at)[4]
        if total_entries != 0xFFFF:
            return total_entries
        # 0xFFFF: the count is in the zip64 end record, which the locator before this one finds.
        locator = at - _ZIP64_LOCATOR.size
        if locator < 0 or tail[locator : locator + 4] != _ZIP64_LOCATOR_SIGNATURE:
            return None
        record_offset = _ZIP64_LOCATOR.unpack_from(tail, locator)[2]
        file.seek(record_offset)
        record = file.read(_ZIP64_EOCD.size)
    if len(record) < _ZIP64_EOCD.size or record[:4] != _ZIP64_EOCD_SIGNATURE:
        return None
    return _ZIP64_EOCD.unpack(record)[7]


def _tar_entries(path: Path, *, compressed: bool) -> Iterator[Entry]:
    # Iterated with `next()`: a member's data is skipped (decompressed, for gzip) only when
    # the next header is asked for, after the member passed every rule.
    with tarfile.open(path, mode="r:gz" if compressed else "r:") as archive:
        while (member := archive.next()) is not None:
            yield _tar_entry(member)


def _tar_entry(member: tarfile.TarInfo) -> Entry:
    if member.issym():
        return Entry(member.name, "symlink", link_target=member.linkname)
    if member.islnk():
        return Entry(member.name, "hardlink", link_target=member.linkname)
    if member.isdir():
        return Entry(member.name, "directory")
    if member.isreg():
        return Entry(member.name, "file", size=member.size)
    return Entry(member.name, "special")


def _check_stream_ratio(path: Path, uncompressed: int, limits: ArchiveLimits) -> None:
    compressed = max(path.stat().st_size, 1)
    if uncompressed > limits.max_ratio * compressed:
        subject = "The compressed tar as a whole"
        raise UploadRefused("compression-ratio", subject=subject, limit=limits.max_ratio)
