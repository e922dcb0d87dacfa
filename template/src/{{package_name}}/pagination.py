"""Moved to `http/pagination.py` in 0.5.0; this alias keeps modules scaffolded earlier working.

Modules created by `just new` before 0.5.0 import `from ...pagination import Page, PageDep`.
Change those imports to `from ...http.pagination import ...`, then delete this file: nothing else
uses it.
"""

from .http.pagination import Page, PageDep, PageParams

__all__ = ["Page", "PageDep", "PageParams"]
