"""Resource modules, found by discovery.

Every sub-package here that has a `routes.py` with a `router` is mounted by the app factory, and
every `models.py` is imported so that Alembic sees its tables. Adding a module (`just new <name>`)
therefore edits no shared file, and `copier update` has no registration list to merge.
"""

import importlib
import pkgutil
from types import ModuleType

from fastapi import APIRouter


def _submodules(leaf: str) -> list[ModuleType]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if not info.ispkg:
            continue
        try:
            found.append(importlib.import_module(f"{__name__}.{info.name}.{leaf}"))
        except ModuleNotFoundError as missing:
            if missing.name != f"{__name__}.{info.name}.{leaf}":
                raise  # a real import error inside the module: never hide it
    return found


def discover_routers() -> list[APIRouter]:
    return [module.router for module in _submodules("routes")]


def import_models() -> None:
    _submodules("models")
