"""The answer sets the template is tested with: one table for every test of this repository.

`VARIANTS` is the table: every variant gets the cheap checks (render, no leftover Jinja, files
parse, ruff clean, no trace of a disabled feature). `DEEP` and `DEEP_SCAFFOLDED` name the
variants whose rendered project also runs its own `just check`. A variant is a dict of answers
on top of the defaults; `answers_of` gives the whole answer set, defaults included, for tests
that decide by a flag.
"""

from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-example": {"example_module": False},
    "no-database": {"database": "none", "example_module": False},
    "postgresql": {"database": "postgresql"},
    "python-3.13": {"python_version": "3.13"},
    "no-outbound": {"outbound_http": False},
    # Resources at the root, as before 0.5.0: every test and bench path follows the answer.
    "root-paths": {"api_prefix": "", "uploads": True},
    "no-tracing": {"tracing": False},
    "metrics": {"metrics": True},
    "rate-limit": {"rate_limit": True, "metrics": True},
    "rate-limit-minimal": {
        "rate_limit": True,
        "database": "none",
        "example_module": False,
        "outbound_http": False,
        "tracing": False,
    },
    "uploads": {"uploads": True},
    "auth-oidc": {"auth": "oidc"},
    "api-keys": {"auth": "oidc", "api_keys": True},
    # Local accounts alone: the login limit counts in memory, on its own.
    "auth-local": {"auth": "local"},
    # API keys alone guard the routes, uploads included.
    "api-keys-alone": {"api_keys": True, "uploads": True},
    # `just new` modules behind the OIDC guard: the rendered route walk covers them.
    "scaffold-oidc": {"database": "postgresql", "auth": "oidc"},
    # One feature alone: the list of installed features is a one-tuple.
    "uploads-alone": {
        "database": "none",
        "example_module": False,
        "outbound_http": False,
        "tracing": False,
        "uploads": True,
    },
    # Nothing optional: the code paths of a service without any feature are rendered here only.
    "minimal": {
        "database": "none",
        "example_module": False,
        "outbound_http": False,
        "tracing": False,
        "metrics": False,
    },
    # What a project ships (Dockerfile, CI, Kubernetes) varies with these.
    "kubernetes-sqlite": {"kubernetes": True},
    "kubernetes-nodb-hpa": {
        "database": "none",
        "example_module": False,
        "kubernetes": True,
        "kubernetes_autoscaling": True,
    },
    "kubernetes-postgresql": {"database": "postgresql", "kubernetes": True},
    "no-docker": {"docker": False},
    "no-github-ci": {"github_ci": False},
    # Every feature on, and everything that can be off turned off (what the threat model names).
    "everything": {
        "database": "postgresql",
        "metrics": True,
        "kubernetes": True,
        "rate_limit": True,
        "uploads": True,
        "auth": "local",
        "api_keys": True,
    },
    "bare": {
        "database": "none",
        "example_module": False,
        "outbound_http": False,
        "tracing": False,
        "docker": False,
        "github_ci": False,
    },
}

# The variants whose rendered project runs its own `just check` (a few minutes each), as rendered
# (tests/test_deep.py). Together with DEEP_SCAFFOLDED each flag runs on and off: `everything`
# has every feature on (auth=local, with API keys and the login limit on the rate limiter),
# `minimal` none, and `scaffold-oidc` puts modules `just new` wrote behind auth=oidc.
DEEP: list[str] = ["minimal", "everything"]
# ... and those that run it after `just new` has added modules beside the example
# (tests/test_scaffold.py): the same check on the same variant and more, so not run twice.
DEEP_SCAFFOLDED: list[str] = ["default", "no-database", "scaffold-oidc"]

# The defaults of the answers the tests decide by (copier.yml computes a few from others).
_DEFAULTS: dict[str, Any] = {
    "database": "sqlite",
    "example_module": True,
    "outbound_http": True,
    "tracing": True,
    "metrics": False,
    "rate_limit": False,
    "uploads": False,
    "auth": "none",
    "api_keys": False,
    "docker": True,
    "github_ci": True,
    "kubernetes": False,
}


def answers_of(name: str) -> dict[str, Any]:
    answers = {**_DEFAULTS, **VARIANTS[name]}
    answers.setdefault("kubernetes_autoscaling", answers["database"] != "sqlite")
    return answers


def variants_where(**wanted: Any) -> list[str]:
    """The variants whose answers have every value given, e.g. `variants_where(docker=True)`."""
    return [
        name
        for name in VARIANTS
        if all(answers_of(name).get(key) == value for key, value in wanted.items())
    ]
