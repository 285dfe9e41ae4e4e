"""A posted form's values and errors, so a refused form comes back with the message next to its field and
everything the person typed still in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from warroom.errors import DomainError, FieldProblem, InvalidInput

FormValues = Mapping[str, str | list[str]]


@dataclass
class FormState:
    values: dict[str, str | list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""  # an error that belongs to no single field

    def value(self, name: str, default: str = "") -> str:
        found = self.values.get(name, default)
        return found if isinstance(found, str) else (found[0] if found else default)

    def chosen(self, name: str) -> list[str]:
        found = self.values.get(name, [])
        return [found] if isinstance(found, str) else list(found)

    def error(self, name: str) -> str:
        return self.errors.get(name, "")

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)


def as_list(values: FormValues, name: str) -> list[str]:
    found = values.get(name, [])
    items = [found] if isinstance(found, str) else list(found)
    return [item for item in (i.strip() for i in items) if item]


def text(values: FormValues, name: str) -> str:
    found = values.get(name, "")
    return (found if isinstance(found, str) else (found[0] if found else "")).strip()


def refused(
    values: FormValues,
    error: DomainError | ValidationError,
    *,
    renames: Mapping[str, str] | None = None,
    fields: frozenset[str] | None = None,
) -> FormState:
    """The form as posted plus the error, each message on the field the service or schema named.

    `renames` maps a service's field name to the form's (`impact_started_at` -> `impact_minutes_ago`); a
    problem naming a field the form does not have (`fields`) becomes the form's general message instead of
    vanishing.
    """
    renames = renames or {}
    state = FormState(values=dict(values))
    for name, message in _problems(error):
        shown = renames.get(name, name)
        if shown and (fields is None or shown in fields) and shown not in state.errors:
            state.errors[shown] = message
        else:
            state.message = f"{state.message} {name}: {message}".strip() if name else message
    if not state.failed:
        state.message = str(error)
    return state


Model = TypeVar("Model", bound=BaseModel)


def parsed(model: type[Model], data: Mapping[str, Any], refusal: str) -> Model:
    """A form's fields as `model`; what pydantic refuses becomes field problems, shown by each field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [FieldProblem(f, m) for f, m in field_messages(error)]
        raise InvalidInput(refusal, problems) from None


def field_messages(error: ValidationError) -> list[tuple[str, str]]:
    """(top-level field, message) for each problem pydantic found."""
    return [(str(e["loc"][0]) if e["loc"] else "", _plain(e["msg"])) for e in error.errors()]


def _problems(error: DomainError | ValidationError) -> list[tuple[str, str]]:
    if isinstance(error, ValidationError):
        return field_messages(error)
    if error.problems:
        return [(p.field.split(".")[0].split("[")[0], p.message) for p in error.problems]
    return [("", error.detail)]


def _plain(message: str) -> str:
    """Pydantic's `String should have at least 1 character` reads better to a person as `is required`."""
    if message == "String should have at least 1 character":
        return "is required"
    return message.removeprefix("Value error, ")
