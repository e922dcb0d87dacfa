from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from ...http.bounds import STORABLE_TEXT
from ...http.sorting import Sortable

# The columns' lengths (models.py): a value accepted here always fits.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=STORABLE_TEXT)]
Description = Annotated[str, Field(max_length=2000, pattern=STORABLE_TEXT)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None


class ItemUpdate(BaseModel):
    """Only the fields sent are changed; `null` only where the column allows it."""

    model_config = ConfigDict(extra="forbid")

    # Optional, not nullable: absent means unchanged, and `null` is refused (the column is NOT
    # NULL). SkipJsonSchema keeps `null` out of the documented schema.
    name: Name | SkipJsonSchema[None] = None
    description: Description | None = None

    @field_validator("name")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:  # only a value sent is validated: the default never gets here
            raise ValueError("may be left out, but not null")
        return value


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    version: int
    """Incremented by every write of the record."""
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ItemFilters(BaseModel):
    """Equality filters of the list: `?name=lamp` lists only the items named `lamp`."""

    name: Name | None = None


# The fields a list may be sorted by, each with its index (models.py); `id` always.
SORTABLE = Sortable(ItemRead, ["name", "created_at"], default="id")
