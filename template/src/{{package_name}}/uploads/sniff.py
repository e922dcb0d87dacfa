"""Content type by the file's first bytes, never by its name or the client's Content-Type.

The check only has to confirm that a file begins like one of the few formats a service accepts,
so the signatures of those formats are a table here (each one from the format's specification)
rather than a file-identification library's database of thousands of guesses: a type that is
not in this table cannot be allowed by accident, and adding one is one reviewed line.
"""

from dataclasses import dataclass

SNIFF_BYTES = 512
"""How much of a file the sniffing needs: the tar signature sits at offset 257."""


@dataclass(frozen=True, slots=True)
class Signature:
    media_type: str
    marks: tuple[tuple[int, bytes], ...]
    """(offset, bytes) pairs that must all be found."""

    def matches(self, head: bytes) -> bool:
        return all(head[offset : offset + len(mark)] == mark for offset, mark in self.marks)


SIGNATURES: tuple[Signature, ...] = (
    Signature("image/png", ((0, b"\x89PNG\r\n\x1a\n"),)),
    Signature("image/jpeg", ((0, b"\xff\xd8\xff"),)),
    Signature("image/gif", ((0, b"GIF87a"),)),
    Signature("image/gif", ((0, b"GIF89a"),)),
    Signature("image/webp", ((0, b"RIFF"), (8, b"WEBP"))),
    Signature("application/pdf", ((0, b"%PDF-"),)),
    # A zip begins with a local file header; an empty zip (only an end record) is refused.
    Signature("application/zip", ((0, b"PK\x03\x04"),)),
    # gzip with the deflate method: accepted as a compressed tar (see archives.py).
    Signature("application/gzip", ((0, b"\x1f\x8b\x08"),)),
    # POSIX (ustar\0) and GNU (ustar  \0) tar headers.
    Signature("application/x-tar", ((257, b"ustar\x00"),)),
    Signature("application/x-tar", ((257, b"ustar  \x00"),)),
)

KNOWN_TYPES = frozenset(signature.media_type for signature in SIGNATURES)
ARCHIVE_TYPES = frozenset({"application/zip", "application/gzip", "application/x-tar"})


def sniff(head: bytes) -> str | None:
    """The media type whose signature `head` (the first `SNIFF_BYTES`) carries, if any."""
    for signature in SIGNATURES:
        if signature.matches(head):
            return signature.media_type
    return None
