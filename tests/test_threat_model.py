"""The rendered docs/threat-model.md describes the features of its variant and only those, and
every setting, test and file it points at exists in the rendered project."""

import re
from pathlib import Path
from typing import Any

import yaml

THREAT_MODEL = Path("docs", "threat-model.md")
PREFIX = "MY_SERVICE_"
# Paths a fresh render does not have yet: uv.lock comes with `uv sync`, .env is the user's.
NOT_RENDERED = {"uv.lock", ".env"}

# Feature -> (is it on for these answers, the text that only its part of the document has).
FEATURE_TEXT: dict[str, tuple[Any, str]] = {
    "sqlite": (lambda a: a["database"] == "sqlite", "SQLite database"),
    "postgresql": (lambda a: a["database"] == "postgresql", "PostgreSQL database"),
    "database boundary": (lambda a: a["database"] != "none", "(3) App → database."),
    "example_module": (lambda a: a["example_module"], "example resource module"),
    "outbound_http": (lambda a: a["outbound_http"], "(4) App → upstream HTTP services."),
    "tracing": (lambda a: a["tracing"], "(5) App → OTLP collector."),
    "metrics": (lambda a: a["metrics"], "(6) Prometheus → `/metrics`."),
    "auth": (lambda a: a["auth"] == "oidc", "OIDC provider's signing keys"),
    "auth_local": (lambda a: a["auth"] == "local", "Callers are authenticated by this service"),
    "api_keys_alone": (
        lambda a: a["auth"] == "none" and a["api_keys"],
        "Callers are machine clients with API keys",
    ),
    "docker": (lambda a: a["docker"], "container image"),
    "kubernetes": (lambda a: a["kubernetes"], "Kubernetes manifests"),
    "github_ci": (lambda a: a["github_ci"], "GitHub workflows"),
}


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def misdescribed_features(project: Path) -> list[str]:
    text = (project / THREAT_MODEL).read_text(encoding="utf-8")
    answers = answers_of(project)
    return [
        f"{feature}: {'missing' if enabled(answers) else 'present though off'} ({marker!r})"
        for feature, (enabled, marker) in FEATURE_TEXT.items()
        if (marker in text) != bool(enabled(answers))
    ]


def missing_references(project: Path) -> list[str]:
    """Settings, tests and files the threat model names that the project does not have."""
    text = (project / THREAT_MODEL).read_text(encoding="utf-8")
    settings_source = (project / "src" / "my_service" / "settings.py").read_text(encoding="utf-8")
    fields = set(re.findall(r"^    (\w+):", settings_source, flags=re.MULTILINE))
    missing = [
        f"setting {PREFIX}{name}"
        for name in sorted(set(re.findall(rf"{PREFIX}([A-Z0-9_]+)", text)))
        if name.lower() not in fields
    ]
    tests = set(re.findall(r"(tests/test_\w+\.py)::(\w+)", text))
    if not tests:
        missing.append("any test at all")
    for path, name in sorted(tests):
        source = project / path
        if not source.is_file() or f"def {name}(" not in source.read_text(encoding="utf-8"):
            missing.append(f"test {path}::{name}")
    paths = {
        token
        for token in re.findall(r"`([\w.][\w./-]*)`", text)
        if token == "Dockerfile" or "/" in token or "." in token
    }
    missing += [
        f"file {path}" for path in sorted(paths - NOT_RENDERED) if not (project / path).exists()
    ]
    return missing


def test_the_threat_model_covers_exactly_the_features_that_are_on(variant: Path) -> None:
    assert misdescribed_features(variant) == []


def test_every_setting_test_and_file_it_names_exists(variant: Path) -> None:
    assert missing_references(variant) == []
