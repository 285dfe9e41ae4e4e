"""Whom a severity pages (`page:` in procedure.yaml): structured targets, never free text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

PageKind = Literal["service_policy", "schedule", "team", "user"]
PAGE_HINT = (
    "write service_policy (the affected services' escalation policies), or one of "
    "{schedule: <slug>}, {team: <slug>}, {user: <email>}"
)


_TARGET_WORDS = {
    "schedule": "whoever is on call for schedule",
    "team": "every member of team",
    "user": "user",
}


class PageTarget(BaseModel):
    """Whom declaring (or raising to) a severity pages: the affected services' escalation policies, or the
    on-call of a named schedule, a team's members or one user. Written in the file as `service_policy` or
    a one-key mapping such as `schedule: incident-commander`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: PageKind
    ref: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, value: object) -> object:
        if value == "service_policy":
            return {"kind": "service_policy"}
        if isinstance(value, str):
            raise ValueError(f"{value!r} is not a page target; {PAGE_HINT}")
        if isinstance(value, Mapping) and set(value) != {"kind", "ref"}:
            if len(value) != 1 or next(iter(value)) not in ("schedule", "team", "user"):
                raise ValueError(f"{dict(value)!r} is not a page target; {PAGE_HINT}")
            kind, ref = next(iter(value.items()))
            if not isinstance(ref, str) or not ref.strip():
                raise ValueError(f"{kind}: give the {kind}'s {'email' if kind == 'user' else 'slug'}")
            return {"kind": kind, "ref": ref.strip()}
        return value

    @property
    def label(self) -> str:
        """The target in words, as the SOP and the timeline say it."""
        if self.kind == "service_policy":
            return "each affected service's escalation policy"
        return f"{_TARGET_WORDS[self.kind]} {self.ref}"
