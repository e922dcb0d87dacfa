"""Where accepted uploads go: a two-method interface, and a local-directory implementation.

The receiver writes an arriving file to a staging file of the store's choosing, hashes it on
the way, and hands it over with `put` once every check passed. An object store (S3 and the
like) fits the same interface: stage on local disk, `put` sends the staged file and removes it.

The local store keeps objects content-addressed: `objects/ab/cdef…` for the SHA-256 `abcdef…`.
The staged file is moved into place with `os.replace`, an atomic rename on one filesystem, so
a reader sees a whole object or none; staging sits in the same root for that reason. The same
content uploaded twice is stored once.
"""

import os
import time
from pathlib import Path
from typing import Protocol

# A staged file that has not been written for this long belongs to no running upload (a body
# read waits at most the body read timeout): the process that wrote it died. Removed at startup.
STALE_STAGING_SECONDS = 3600


class UploadStore(Protocol):
    @property
    def staging_dir(self) -> Path:
        """Where the receiver writes files while they arrive (and removes them on failure)."""
        ...

    def put(self, staged: Path, sha256: str) -> str:
        """Take ownership of the staged file whose content has this SHA-256 (hex); returns the
        stored object's key. Blocking: called from a worker thread."""
        ...


class LocalDirectoryStore:
    def __init__(self, root: Path, *, fsync: bool) -> None:
        self.root = root
        self.objects_dir = root / "objects"
        self._staging_dir = root / "staging"
        self.fsync = fsync

    @property
    def staging_dir(self) -> Path:
        return self._staging_dir

    def prepare(self) -> None:
        """Create the folders, and remove staged files that a dead process left behind."""
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self._staging_dir.mkdir(parents=True, exist_ok=True)
        stale_before = time.time() - STALE_STAGING_SECONDS
        for leftover in self._staging_dir.iterdir():
            if leftover.is_file() and leftover.stat().st_mtime < stale_before:
                leftover.unlink(missing_ok=True)

    def path_of(self, key: str) -> Path:
        if len(key) != 64 or not all(char in "0123456789abcdef" for char in key):
            raise ValueError("a key is a lowercase hex SHA-256")
        return self.objects_dir / key[:2] / key[2:]

    def put(self, staged: Path, sha256: str) -> str:
        target = self.path_of(sha256)
        target.parent.mkdir(exist_ok=True)
        if self.fsync:  # the content reaches the disk before its name does
            with staged.open("rb") as file:
                os.fsync(file.fileno())
        os.replace(staged, target)
        if self.fsync:
            _fsync_directory(target.parent)
        return sha256


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
