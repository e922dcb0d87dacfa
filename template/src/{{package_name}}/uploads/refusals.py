"""Every way an upload is refused: one table of rules, each with its status and detail.

A refusal is a problem document (RFC 9457) whose `rule` member names the rule, so a client can
tell a zip bomb from a path traversal without parsing prose. The body cap itself is the edge's
(413, `edge/body_limit.py`); the limits here are those only the upload parser can see.
"""

from typing import Any

from ..http.problems import ProblemError

# rule -> (status, detail template)
RULES: dict[str, tuple[int, str]] = {
    # The request
    "not-multipart": (415, "An upload is a multipart/form-data request with a boundary."),
    "malformed-multipart": (400, "The multipart body is malformed: {reason}."),
    "too-many-parts": (413, "The multipart body has more than {limit} parts."),
    "field-too-large": (413, "The form field {field!r} exceeds {limit} bytes."),
    "field-not-text": (400, "The form field {field!r} is not UTF-8 text."),
    "one-file": (422, "An upload carries exactly one file part; this one has more."),
    "no-file": (422, "The multipart body has no file part."),
    "client-disconnected": (400, "The client disconnected before the body was complete."),
    # The file
    "type-not-allowed": (
        415,
        "The file's content is not of an allowed type ({allowed}); "
        "the type is read from the bytes, not from the name or the Content-Type.",
    ),
    # Archives, inspected before they are accepted
    "archive-unreadable": (422, "The archive cannot be read: {reason}."),
    "too-many-entries": (422, "The archive has more than {limit} entries."),
    "total-size": (422, "The archive's entries add up to more than {limit} bytes."),
    "compression-ratio": (
        422,
        "{subject} expands more than {limit:g} times (a compression bomb).",
    ),
    "absolute-path": (422, "The archive entry {entry!r} has an absolute path."),
    "parent-traversal": (422, "The archive entry {entry!r} climbs out with '..'."),
    "link-escape": (422, "The archive link {entry!r} points outside the archive."),
    "path-through-link": (422, "The archive entry {entry!r} is reached through a link."),
    "special-file": (422, "The archive entry {entry!r} is a device, FIFO or other special file."),
    "duplicate-name": (422, "The archive has the entry {entry!r} more than once."),
}


class UploadRefused(ProblemError):
    """An upload refused by one rule of `RULES`; the problem document names the rule."""

    def __init__(self, rule: str, *, close: bool = False, **values: Any) -> None:
        status, template = RULES[rule]
        # A refusal before the whole body was read leaves the rest of it unread: the
        # connection cannot carry another request.
        headers = {"Connection": "close"} if close else None
        super().__init__(template.format(**values), status=status, headers=headers, rule=rule)
        self.rule = rule
