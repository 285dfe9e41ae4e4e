"""Field types the procedure's sections share (ids, durations)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from warroom.procedure.domain import parse_duration


def snake_id(value: str) -> str:
    ok = value[:1].isascii() and value[:1].islower() and len(value) <= 64
    if not ok or not all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in value):
        raise ValueError("id must be snake_case: lowercase letters, digits and '_', starting with a letter")
    return value


def duration(value: str) -> str:
    parse_duration(value)  # raises ValueError with a message that names the bad value
    return value


SnakeId = Annotated[str, AfterValidator(snake_id)]
Duration = Annotated[str, AfterValidator(duration)]
