"""Playbooks, pre-approved actions and regulatory deadlines in ``procedure.yaml``.

A playbook is an ordered list of steps, each belonging to a phase; declaring an incident of a type that names
the playbook turns every step into a task. A `gate` step must be done (or waived by the commander with a
reason) before the incident moves past its phase. A step may name an action: a signed webhook to the
organisation's own automation, run when the step is started if it is `pre_approved`, else once the commander
approves. A deadline is a clock from awareness (detection) that the step it names stops, such as the 72 hours
GDPR gives to notify the supervisory authority.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from warroom.procedure.fields import Duration, SnakeId

Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]


def _web_address(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) address")
    return value


WebAddress = Annotated[str, Field(max_length=2_000), AfterValidator(_web_address)]
Title = Annotated[str, Field(min_length=1, max_length=300)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Link(_Model):
    title: Title
    url: WebAddress


class PlaybookStep(_Model):
    id: SnakeId
    title: Title
    phase: str  # the phase the step belongs to; a gate holds the incident in it
    role: str | None = None  # who does it (a role id)
    due: Duration | None = None  # from the declaration
    mandatory: bool = False
    gate: bool = False  # the incident cannot move past `phase` until it is done or waived
    evidence: str = Field(default="", max_length=500)  # what to record when it is done
    guidance: str = Field(default="", max_length=2_000)  # why, and the public guidance it follows
    links: list[Link] = Field(default_factory=list)
    action: str | None = None  # an `actions` id

    @property
    def required(self) -> bool:
        return self.mandatory or self.gate


class Playbook(_Model):
    id: SnakeId
    name: Title
    description: str = Field(default="", max_length=2_000)
    references: list[Link] = Field(default_factory=list)
    steps: list[PlaybookStep] = Field(min_length=1)

    def step(self, step_id: str) -> PlaybookStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"unknown step {step_id!r} in playbook {self.id!r}")


class Action(_Model):
    """A call to the organisation's own automation (isolate a host, disable an account, switch on the
    maintenance page): a POST signed with WARROOM_ACTION_SECRET. No `url`: nothing is automated here, the
    step is done by hand."""

    id: SnakeId
    name: Title
    description: str = Field(default="", max_length=2_000)
    url: WebAddress | None = None
    pre_approved: bool = False
    timeout: Duration = "30s"


class Deadline(_Model):
    """A clock from awareness that the named step's completion stops (else the `notified` milestone)."""

    id: SnakeId
    name: Title
    within: Duration
    starts: Literal["detected", "declared"] = "detected"
    step: str | None = None
    authority: str = Field(default="", max_length=300)  # who must be told, e.g. "the supervisory authority"


def _ids(items: list[Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, item) for i, item in enumerate(items) if isinstance(item, Mapping)]


def _known(data: Mapping[str, Any], section: str) -> set[str]:
    items = data.get(section)
    return {item["id"] for _, item in _ids(items if isinstance(items, list) else []) if "id" in item}


def _check_step(
    loc: Loc,
    step: Mapping[str, Any],
    phases: set[str],
    roles: set[str],
    actions: set[str],
    problems: Problems,
) -> None:
    for field, known, kind in (
        ("phase", phases, "phase"),
        ("role", roles, "role"),
        ("action", actions, "action"),
    ):
        value = step.get(field)
        if isinstance(value, str) and value not in known:
            problems.append(((*loc, field), f"unknown {kind} {value!r}; defined: {', '.join(sorted(known))}"))


def _check_playbooks(data: Mapping[str, Any], problems: Problems) -> dict[str, set[str]]:
    """Each playbook's steps name known phases, roles and actions, with unique ids; returns step ids."""
    phases, roles, actions = _known(data, "phases"), _known(data, "roles"), _known(data, "actions")
    steps_of: dict[str, set[str]] = {}
    playbooks = data.get("playbooks")
    for i, playbook in _ids(playbooks if isinstance(playbooks, list) else []):
        if playbook.get("id") in steps_of:
            problems.append((("playbooks", i, "id"), f"duplicate playbook id {playbook.get('id')!r}"))
        seen: set[str] = set()
        steps = playbook.get("steps")
        for j, step in _ids(steps if isinstance(steps, list) else []):
            if step.get("id") in seen:
                problems.append((("playbooks", i, "steps", j, "id"), f"duplicate step id {step.get('id')!r}"))
            seen.add(str(step.get("id")))
            _check_step(("playbooks", i, "steps", j), step, phases, roles, actions, problems)
        steps_of[str(playbook.get("id"))] = seen
    return steps_of


def check_playbooks(data: Mapping[str, Any], problems: Problems) -> None:
    """Incident types name known playbooks; deadlines name steps of their type's playbook."""
    steps_of = _check_playbooks(data, problems)
    types = data.get("incident_types")
    for i, item in _ids(types if isinstance(types, list) else []):
        playbook = item.get("playbook")
        if isinstance(playbook, str) and playbook not in steps_of:
            known = ", ".join(sorted(steps_of)) or "(none)"
            problems.append(
                (("incident_types", i, "playbook"), f"unknown playbook {playbook!r}; defined: {known}")
            )
        steps = steps_of.get(playbook, set()) if isinstance(playbook, str) else set()
        deadlines = item.get("deadlines")
        for j, deadline in _ids(deadlines if isinstance(deadlines, list) else []):
            step = deadline.get("step")
            if isinstance(step, str) and step not in steps:
                where = ("incident_types", i, "deadlines", j, "step")
                problems.append((where, f"step {step!r} is not in this type's playbook"))
