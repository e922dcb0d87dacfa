"""Hostile and harmless files for the upload tests, built in memory (nothing is checked in).

Each builder returns the bytes of one file. Archives are written with the standard library's
writers, then, where a writer would refuse to produce the attack, adjusted by hand.
"""

import gzip
import io
import struct
import tarfile
import warnings
import zipfile

MiB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(1024)
BOUNDARY = "upload-test-boundary-7f3a"


def multipart(
    parts: list[tuple[str, bytes, str | None]], boundary: str = BOUNDARY
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a multipart/form-data request: (name, content, filename) per part."""
    body = io.BytesIO()
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body.write(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            body.write(b"Content-Type: application/octet-stream\r\n")
        body.write(b"\r\n" + content + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return {"content-type": f"multipart/form-data; boundary={boundary}"}, body.getvalue()


def file_part_head(filename: str = "data.png", boundary: str = BOUNDARY) -> bytes:
    """The start of a multipart body up to the file's first byte (for bodies sent in pieces)."""
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()


def zip_of(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def zip_bomb(size: int = 20 * MiB) -> bytes:
    """One entry of zeros: deflate shrinks it about a thousand times."""
    return zip_of({"zeros.bin": bytes(size)})


_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_END = struct.Struct("<4s4H2LH")
# flags, method (stored), time, date (1980-01-01), CRC, compressed and uncompressed size
_EMPTY_STORED = (0, 0, 0, 0x21, 0, 0, 0)


def zip_with_many_entries(count: int) -> bytes:
    """`count` empty stored entries, written directly (zipfile takes 100 µs an entry); with
    the zip64 end record that more than 65,535 entries need."""
    local, central = bytearray(), bytearray()
    for number in range(count):
        name = str(number).encode()
        offset = len(local)
        local += _LOCAL.pack(b"PK\x03\x04", 20, *_EMPTY_STORED, len(name), 0) + name
        # made by, needed, ..., name length, extra, comment, disk, internal and external attributes
        central += _CENTRAL.pack(
            b"PK\x01\x02", 45, 20, *_EMPTY_STORED, len(name), 0, 0, 0, 0, 0, offset
        )
        central += name
    zip64_end_at = len(local) + len(central)
    zip64_end = _ZIP64_END.pack(
        b"PK\x06\x06", _ZIP64_END.size - 12, 45, 45, 0, 0, count, count, len(central), len(local)
    )
    locator = _ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, zip64_end_at, 1)
    end = _END.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(local + central + zip64_end + locator + end)


def zip_with_duplicates() -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns, and writes it anyway
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("report.txt", b"first")
            archive.writestr("report.txt", b"second")
    return buffer.getvalue()


def zip_with_symlink(name: str, target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(name)
        info.create_system = 3  # Unix: the mode in external_attr counts
        info.external_attr = (0o120777 << 16) | 0x20
        archive.writestr(info, target.encode())
    return buffer.getvalue()


def zip_with_bad_crc() -> bytes:
    """A zip whose entry does not match its CRC: its declared size is not to be believed."""
    content = bytes(range(256)) * 64
    data = bytearray(zip_of({"data.bin": content}, compression=zipfile.ZIP_STORED))
    at = data.index(content)
    data[at] ^= 0xFF
    return bytes(data)


def tar_of(members: list[tuple[tarfile.TarInfo, bytes]], *, compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, content in members:
            info.size = len(content) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(content) if info.isreg() else None)
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0) if compressed else raw


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def tar_files(count: int) -> bytes:
    return tar_of([(member(f"file-{number}.txt"), b"x") for number in range(count)])


def tar_gz_bomb(size: int = 20 * MiB) -> bytes:
    return tar_of([(member("zeros.bin"), bytes(size))], compressed=True)
