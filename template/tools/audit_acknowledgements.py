"""Turn the acknowledged vulnerabilities into pip-audit arguments, refusing any that expired.

`just audit` runs this first. `audit-acknowledgements.toml` lists the known vulnerabilities that
the team has looked at and accepts for a while, each with its reason and an expiry date:

    [[acknowledgement]]
    id = "GHSA-xxxx-xxxx-xxxx"   # as pip-audit prints it (PYSEC-, GHSA-, CVE-... ids)
    expires = 2026-03-31         # a TOML date: acknowledged through that day
    reason = "Only reachable through the XML parser, which this service never calls"

An acknowledgement that has expired, or that reaches further than MAX_DAYS ahead, fails the
audit: someone has to look again rather than let the exception live forever.

Usage: python tools/audit_acknowledgements.py [FILE]   (default: audit-acknowledgements.toml)
Prints the arguments (`--ignore-vuln=ID ...`) on one line; exit status 1 and the reasons on
stderr when the file is not valid.
"""

import argparse
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

DEFAULT_FILE = Path("audit-acknowledgements.toml")
# Long enough to wait for an upstream fix, short enough that it is looked at again.
MAX_DAYS = 90
MIN_REASON_LENGTH = 10
_ID = re.compile(r"^[A-Za-z]+-[A-Za-z0-9-]+$")
_FIELDS = {"id", "expires", "reason"}


class AcknowledgementError(ValueError):
    """The file is malformed, or an acknowledgement expired or reaches too far."""


@dataclass(frozen=True)
class Acknowledgement:
    id: str
    expires: date
    reason: str


def parse(text: str) -> list[Acknowledgement]:
    """Every `[[acknowledgement]]` of the file, each checked for its three fields."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AcknowledgementError(f"not valid TOML: {error}") from error
    unknown = set(document) - {"acknowledgement"}
    if unknown:
        raise AcknowledgementError(f"unknown top-level keys: {sorted(unknown)}")
    entries = document.get("acknowledgement", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise AcknowledgementError("write each acknowledgement as a [[acknowledgement]] table")
    acknowledgements = []
    problems = []
    for number, entry in enumerate(entries, 1):
        entry_problems = _entry_problems(entry)
        problems += [f"acknowledgement {number}: {problem}" for problem in entry_problems]
        if not entry_problems:
            acknowledgements.append(
                Acknowledgement(entry["id"], entry["expires"], entry["reason"].strip())
            )
    if problems:
        raise AcknowledgementError("\n".join(problems))
    return acknowledgements


def _entry_problems(entry: dict[str, object]) -> list[str]:
    if set(entry) != _FIELDS:
        return [f"needs exactly the keys {sorted(_FIELDS)}, has {sorted(entry)}"]
    problems = []
    vulnerability, expires, reason = entry["id"], entry["expires"], entry["reason"]
    if not isinstance(vulnerability, str) or not _ID.match(vulnerability):
        problems.append(f"id {vulnerability!r} is not a vulnerability id (PYSEC-, GHSA-, CVE-...)")
    # A TOML datetime is a `date` subclass too: only a plain date says "through that day".
    if type(expires) is not date:
        problems.append(f"expires {expires!r} must be a date like 2026-03-31")
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
        problems.append("reason must say why the vulnerability is acceptable for now")
    return problems


def ignore_arguments(acknowledgements: Sequence[Acknowledgement], today: date) -> list[str]:
    """pip-audit arguments for the acknowledgements in force on `today`; refuses stale ones."""
    problems = []
    for acknowledgement in acknowledgements:
        if acknowledgement.expires < today:
            problems.append(
                f"{acknowledgement.id}: the acknowledgement expired on {acknowledgement.expires}; "
                "upgrade, or review it and set a new date"
            )
        elif acknowledgement.expires > today + timedelta(days=MAX_DAYS):
            problems.append(
                f"{acknowledgement.id}: expires {acknowledgement.expires}, more than {MAX_DAYS} "
                "days ahead; choose a nearer date and look again then"
            )
    if problems:
        raise AcknowledgementError("\n".join(problems))
    return [f"--ignore-vuln={acknowledgement.id}" for acknowledgement in acknowledgements]


def main(argv: Sequence[str] | None = None, today: date | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    arguments = parser.parse_args(argv)
    file: Path = arguments.file
    text = file.read_text(encoding="utf-8") if file.exists() else ""
    try:
        acknowledgements = parse(text)
        ignores = ignore_arguments(acknowledgements, today or datetime.now(UTC).date())
    except AcknowledgementError as error:
        print(f"{file}:\n{error}", file=sys.stderr)
        return 1
    for acknowledgement in acknowledgements:
        print(
            f"audit: {acknowledgement.id} acknowledged until {acknowledgement.expires}: "
            f"{acknowledgement.reason}",
            file=sys.stderr,
        )
    print(" ".join(ignores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
