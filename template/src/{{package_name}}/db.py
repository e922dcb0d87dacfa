"""Moved to `data/database.py` in 0.5.0; this alias keeps modules scaffolded earlier working.

Modules created by `just new` before 0.5.0 import `from ...db import Base, SessionDep`. Change
those imports to `from ...data.database import ...`, then delete this file: nothing else uses it.
"""

from .data.database import Base, SessionDep

__all__ = ["Base", "SessionDep"]
