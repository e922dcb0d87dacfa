"""Sorting of list endpoints: `?sort=-created_at,name` against the fields a module allows.

A module declares which fields of its schema a client may sort by, and its default order
(`Sortable`). A field outside that list is a 422 that names the allowed ones: sorting by an
unindexed column is a full scan the owner did not choose.

Every order ends with `id`, the tie-breaker: no two rows compare equal, so a page boundary (an
offset or a cursor) is never ambiguous. The added `id` takes the direction of the key before
it, so `-created_at` is `-created_at,-id`, and one index on `(created_at, id)` serves both
directions (read backwards for the descending one). Keys after `id`, and a field named again,
are dropped: they can never decide anything.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .problems import ProblemError

TIE_BREAKER = "id"
# `?sort=` is bounded by the whitelist (each field once); this only caps what is parsed.
SORT_MAX_LENGTH = 500


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True, slots=True)
class SortOrder:
    keys: tuple[SortKey, ...]

    def __str__(self) -> str:
        return ",".join(map(str, self.keys))


def sort_problem(message: str, allowed: Sequence[str]) -> ProblemError:
    """A 422 in the shape of a validation error, with the fields that may be asked for."""
    return ProblemError(
        f"{message} Sortable fields: {', '.join(allowed)}; `-` before a field sorts it descending.",
        status=422,
        errors=[{"loc": ["query", "sort"], "msg": message, "type": "sort_field"}],
        allowed=list(allowed),
    )


class Sortable:
    """The fields of `schema` a list may be sorted by, and its order when `?sort=` is absent."""

    def __init__(self, schema: type[BaseModel], fields: Sequence[str], default: str) -> None:
        self.schema = schema
        self.fields = tuple(dict.fromkeys([*fields, TIE_BREAKER]))
        unknown = [field for field in self.fields if field not in schema.model_fields]
        if unknown:
            raise ValueError(f"{schema.__name__} has no field {', '.join(unknown)} to sort by")
        annotations = {field: schema.model_fields[field].annotation for field in self.fields}
        self._types = {
            field: TypeAdapter(Any if annotation is None else annotation)
            for field, annotation in annotations.items()
        }
        try:
            self.default = self.parse(default)
        except ProblemError as error:  # a declaration error: fail at import, not per request
            raise ValueError(f"default sort {default!r}: {error.detail}") from None

    @property
    def pattern(self) -> str:
        """What `parse` accepts, as the regular expression the OpenAPI document shows: each
        field at most once, so as many as there are fields. Bounded, so a generator of test
        requests (schemathesis) can reach its longest match instead of hunting for one."""
        field = f"-?(?:{'|'.join(re.escape(field) for field in self.fields)})"
        return f"^(?:{field}(?:,{field}){{0,{len(self.fields) - 1}}})?$"

    @property
    def max_length(self) -> int:
        """The longest sort `parse` accepts: every field, descending, comma-separated."""
        return sum(len(field) + 2 for field in self.fields) - 1

    def parse(self, raw: str | None) -> SortOrder:
        if not raw:
            return self.default
        keys: list[SortKey] = []
        for part in raw.split(","):
            descending = part.startswith("-")
            field = part.removeprefix("-")
            if field not in self.fields:
                raise sort_problem(f"Cannot sort by {field!r}.", self.fields)
            if any(key.field == field for key in keys):
                continue  # its first mention decides: a later one could never matter
            keys.append(SortKey(field, descending))
            if field == TIE_BREAKER:
                return SortOrder(tuple(keys))
        return SortOrder((*keys, SortKey(TIE_BREAKER, keys[-1].descending)))

    def values_of(self, order: SortOrder, record: BaseModel) -> list[Any]:
        """The record's values of the order's keys, as JSON (a cursor carries them)."""
        fields = [key.field for key in order.keys]
        dumped = record.model_dump(mode="json", include=set(fields))
        return [dumped[field] for field in fields]

    def restore(self, order: SortOrder, values: list[Any]) -> tuple[Any, ...]:
        """`values_of`'s values back as the schema's types; ValueError if they do not fit."""
        if len(values) != len(order.keys):
            raise ValueError("the values do not match the order's keys")
        try:
            return tuple(
                self._types[key.field].validate_python(value)
                for key, value in zip(order.keys, values, strict=True)
            )
        except ValidationError:
            raise ValueError("a value does not fit its field") from None
