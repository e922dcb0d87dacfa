"""tools/audit_acknowledgements.py: acknowledged vulnerabilities become pip-audit arguments
until they expire; anything stale or malformed fails the audit."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from tools.audit_acknowledgements import (
    MAX_DAYS,
    Acknowledgement,
    AcknowledgementError,
    ignore_arguments,
    main,
    parse,
)

TODAY = date(2026, 1, 15)
REASON = "Only reachable through a parser this service never calls"


def entry(vulnerability: str = "GHSA-xxxx-yyyy-zzzz", expires: str = "2026-02-01") -> str:
    return (
        f'[[acknowledgement]]\nid = "{vulnerability}"\nexpires = {expires}\nreason = "{REASON}"\n'
    )


def test_an_acknowledgement_in_force_becomes_an_ignore_argument() -> None:
    text = entry() + entry("PYSEC-2025-17", "2026-01-15")
    assert ignore_arguments(parse(text), TODAY) == [
        "--ignore-vuln=GHSA-xxxx-yyyy-zzzz",
        "--ignore-vuln=PYSEC-2025-17",  # expires today: still in force
    ]


def test_an_expired_acknowledgement_is_refused() -> None:
    with pytest.raises(AcknowledgementError, match=r"PYSEC-2025-17: .* expired on 2026-01-14"):
        ignore_arguments(parse(entry() + entry("PYSEC-2025-17", "2026-01-14")), TODAY)


def test_an_acknowledgement_too_far_ahead_is_refused() -> None:
    furthest = TODAY + timedelta(days=MAX_DAYS)
    assert ignore_arguments([Acknowledgement("CVE-2025-1", furthest, REASON)], TODAY)
    with pytest.raises(AcknowledgementError, match=f"more than {MAX_DAYS} days ahead"):
        ignore_arguments([Acknowledgement("CVE-2025-1", furthest + timedelta(1), REASON)], TODAY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (entry().replace(f'reason = "{REASON}"', 'reason = "ok"'), "reason must say why"),
        (entry().replace(f'reason = "{REASON}"\n', ""), "needs exactly the keys"),
        (entry(expires="2026-02-01T00:00:00Z"), "must be a date"),
        (entry(expires='"2026-02-01"'), "must be a date"),
        (entry(vulnerability="--index-url=https://evil.example"), "is not a vulnerability id"),
        (entry(vulnerability="GHSA-1 --verbose"), "is not a vulnerability id"),
        ("acknowledgement = [1]\n", r"\[\[acknowledgement\]\] table"),
        ("[[acknowledgment]]\n", "unknown top-level keys"),
        ("[[acknowledgement]\n", "not valid TOML"),
    ],
)
def test_a_malformed_file_is_refused(text: str, message: str) -> None:
    with pytest.raises(AcknowledgementError, match=message):
        parse(text)


def test_the_shipped_file_acknowledges_nothing() -> None:
    shipped = Path(__file__).resolve().parent.parent / "audit-acknowledgements.toml"
    assert parse(shipped.read_text(encoding="utf-8")) == []


def test_main_prints_the_arguments_or_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "acknowledgements.toml"
    file.write_text(entry(), encoding="utf-8")
    assert main([str(file)], today=TODAY) == 0
    captured = capsys.readouterr()
    assert captured.out == "--ignore-vuln=GHSA-xxxx-yyyy-zzzz\n"
    assert REASON in captured.err  # each acknowledgement is shown on every audit

    assert main([str(file)], today=date(2026, 2, 2)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "expired on 2026-02-01" in captured.err


def test_main_without_a_file_acknowledges_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "absent.toml")], today=TODAY) == 0
    assert capsys.readouterr().out == "\n"
