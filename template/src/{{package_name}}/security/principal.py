"""Who is calling: the identity a verified token names, and the scopes it grants."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    """The token's `sub`: stable for the provider, safe to log (never the token itself)."""
    scopes: frozenset[str] = frozenset()
