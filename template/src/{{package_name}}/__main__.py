"""Command line: `python -m <package> serve` runs the service as a container would."""

import argparse
import sys
from typing import Any

import uvicorn
from pydantic import ValidationError

from .runtime import server
from .settings import ENV_PREFIX, Settings


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + str(loc[0]).upper() if loc else "settings"


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(f"  {_env_name(e['loc'])}: {e['msg']}" for e in error.errors())
        sys.exit(f"invalid settings:\n{problems}")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Server options shared by `serve`, `dev` and the real-server tests.

    No `Server:` header (it only helps an attacker pick exploits), and no forwarded-header
    handling in uvicorn: the app believes X-Forwarded-* only from `TRUSTED_PROXIES`, itself.
    """
    return {
        "host": settings.host,
        "port": settings.port,
        "server_header": False,
        "proxy_headers": False,
        "log_config": None,
    }


def serve() -> None:
    server.serve(_load_settings())


def dev() -> None:
    settings = _load_settings()
    uvicorn.run(
        f"{__package__}.app:create_app", factory=True, reload=True, **uvicorn_options(settings)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=__package__, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API as in production (no reload)")
    commands.add_parser("dev", help="serve with auto-reload for development")
    args = parser.parse_args(argv)
    {"serve": serve, "dev": dev}[args.command]()


if __name__ == "__main__":
    main()
