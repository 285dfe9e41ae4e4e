"""Domain errors raised by services; app.py maps them to problem+json (RFC 9457) in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class DomainError(Exception):
    detail: str
    problems: list[FieldProblem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    status = 400
    title = "Bad request"

    def __str__(self) -> str:
        return self.detail


class NotFound(DomainError):
    status = 404
    title = "Not found"


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class IllegalTransition(Conflict):
    title = "Illegal phase transition"


class NotAuthenticated(DomainError):
    status = 401
    title = "Not authenticated"


class PermissionDenied(DomainError):
    status = 403
    title = "Forbidden"


class Unavailable(DomainError):
    """This installation cannot do it (a system library is missing), whatever the request says."""

    status = 503
    title = "Service unavailable"


def invalid(field_name: str, message: str) -> InvalidInput:
    """Shorthand for the common single-field validation failure."""
    return InvalidInput(f"{field_name}: {message}", [FieldProblem(field_name, message)])


class SettingInvalid(DomainError):
    """A setting the Settings model accepts but this build cannot use (a queue it does not have)."""

    status = 500
    title = "Invalid setting"
