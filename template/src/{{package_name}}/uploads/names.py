"""The client's file name, kept only as metadata: stored objects are named by their SHA-256.

Even as metadata the name is shown to people and written to logs, so it is cleaned: Unicode
normalised (NFKC, so look-alike compatibility forms become their plain letters), everything up
to the last `/` or `\\` dropped (browsers on Windows send whole paths), control and format
characters removed (newlines that forge log lines, bidirectional overrides that make
`gpj.exe` read as `exe.jpg`), surrounding spaces and dots trimmed, and the length capped.
"""

import unicodedata

FILENAME_MAX_CHARS = 255

# Unicode categories dropped: Cc control, Cf format (bidi overrides, zero-width characters),
# Cs surrogates, Co private use, Cn unassigned; Zl and Zp are line and paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def clean_filename(raw: str, max_chars: int = FILENAME_MAX_CHARS) -> str | None:
    """The name to keep as metadata, or None when nothing meaningful is left."""
    name = unicodedata.normalize("NFKC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in _DROPPED_CATEGORIES)
    name = name.strip(" .")
    if not name:
        return None
    if len(name) > max_chars:  # keep the extension: it is what people read the name by
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) < 16:
            name = stem[: max_chars - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:max_chars]
    return name
