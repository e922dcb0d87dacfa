"""The answer sets the template is tested with.

`VARIANTS` is the table: every variant gets the cheap checks (render, no leftover Jinja, files
parse, ruff clean). `DEEP` names the variants whose rendered project also runs its own
`just check`. A variant is a dict of answers on top of the defaults.
"""

from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-example": {"example_module": False},
    "no-database": {"database": "none", "example_module": False},
    "postgresql": {"database": "postgresql"},
    "python-3.13": {"python_version": "3.13"},
    "no-outbound": {"outbound_http": False},
    "no-tracing": {"tracing": False},
    "metrics": {"metrics": True},
}

DEEP: list[str] = ["default", "no-database", "postgresql", "metrics"]
