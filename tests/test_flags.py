"""A disabled feature leaves no trace: no code, settings, dependencies, docs or tests of it."""

import re
from pathlib import Path
from typing import Any

import yaml

from tests.rendering import rendered_files

# Words that only the code, settings, docs or dependencies of one feature contain.
FEATURE_MARKERS: dict[str, list[str]] = {
    "database": [
        "sqlalchemy",
        "alembic",
        "aiosqlite",
        "DATABASE_URL",
        "SessionDep",
        "migrate",
        "REQUIRE_IF_MATCH",
        "idempotency_keys",
    ],
    "example_module": ["ItemCreate", "modules/items", "create_items", "/items"],
    "outbound_http": ["outbound", "OUTBOUND_", "tenacity", "OutboundClient", "IDEMPOTENT_METHODS"],
    "tracing": ["opentelemetry", "OTEL_", "ServerSpans", "tracer_provider", "span_id"],
    "metrics": ["prometheus", "PROMETHEUS_", "METRICS_TOKEN", "/metrics", "ServiceMetrics"],
    # Not `RateLimit` alone: the login limit of auth=local uses the `limits` library's
    # `RateLimiter` classes whether or not the rate_limit feature is on.
    "rate_limit": [
        "rate_limit",
        "RATE_LIMIT_",
        "RateLimit-",
        "RateLimited",
        "RequestLimiter",
        "limits[",
        "coredis",
    ],
    "uploads": [
        "python-multipart",
        "python_multipart",
        "_UPLOAD_",
        "upload_dir",
        "upload_store",
        "UploadStore",
        "receive_upload",
    ],
    # The guard, whether an auth mode or API keys alone put it there.
    "auth": ["security/", "security import", "invalid_token", "ANONYMOUS_READ", "Principal"],
    # Bearer tokens (JWT) of either auth mode: not with API keys alone.
    "auth_tokens": ["jwt", "TokenVerifier", "AUTH_LEEWAY", "test_auth"],
    # The parts of one auth mode that the other must not carry.
    "auth_oidc": ["JWKS", "AUTH_OIDC", "AUTH_JWKS", "ProviderKeys", "identity_provider"],
    "auth_local": ["pwdlib", "argon2", "AUTH_SIGNING_KEYS", "signing-keys", "RefreshToken"],
    "api_keys": ["api_keys", "api-keys", "ApiKey"],
}


def disabled_features(answers: dict[str, Any]) -> set[str]:
    disabled = set()
    if answers["database"] == "none":
        disabled.add("database")
    if answers["auth"] == "none" and not answers["api_keys"]:
        disabled.add("auth")
    if answers["auth"] == "none":
        disabled.add("auth_tokens")
    disabled.update(f"auth_{mode}" for mode in ("oidc", "local") if answers["auth"] != mode)
    disabled.update(
        flag
        for flag in FEATURE_MARKERS
        if isinstance(answers.get(flag), bool) and not answers[flag]
    )
    return disabled


def test_disabled_features_leave_no_trace(variant: Path) -> None:
    project = variant
    disabled = disabled_features(yaml.safe_load((project / ".copier-answers.yml").read_text()))
    traces = []
    for feature in sorted(disabled):
        pattern = re.compile("|".join(re.escape(marker) for marker in FEATURE_MARKERS[feature]))
        for path in rendered_files(project):
            if path.name == ".copier-answers.yml":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    traces.append(
                        f"{feature}: {path.relative_to(project)}:{number}: {line.strip()}"
                    )
    assert not traces, "\n".join(traces)
