"""The base of PATCH bodies: every field optional, and absent (not null) means "leave it as it is"."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator


class Patch(BaseModel):
    """Services read `changes()` (the fields actually sent), never `is not None`, so that a field that may be
    cleared (listed in `nullable`) can be set to null; null for any other field is refused with a 422."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_unless_nullable(self) -> Self:
        refused = sorted(
            name
            for name in self.model_fields_set
            if getattr(self, name) is None and name not in self.nullable
        )
        if refused:
            raise ValueError(f"{', '.join(refused)} may not be null (leave a field out to keep it)")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent, as their validated values (nested models stay models)."""
        return {name: getattr(self, name) for name in self.model_fields_set}
