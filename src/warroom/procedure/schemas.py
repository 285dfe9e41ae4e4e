"""Pydantic models for ``procedure.yaml`` and the cross-checks between its sections.

Validation happens in two layers:

1. Field validation: each model checks its own fields (types, id formats, durations, time zone).
2. Cross-checks: references between sections (roles named by severities and phases, phases
   named in ``next``, ...), unique ids and the phase graph. These live in :func:`cross_check`, a plain
   function returning ``(loc, message)`` pairs so every problem can be pinned to the exact
   element, e.g. ``("severities", 0, "required_roles", 2)``.

``Procedure`` runs :func:`cross_check` in an after-validator so ``Procedure.model_validate``
alone never accepts an inconsistent procedure; it raises one ``procedure_consistency`` error
whose context carries the individual problems. Pydantic only runs after-validators once every
field is valid, so the loader also calls :func:`cross_check` on the raw mapping when field
validation fails; that is why :func:`cross_check` accepts raw data and tolerates malformed
entries (it skips what field validation already reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from warroom.procedure.comms_schema import Communications, check_communications
from warroom.procedure.domain import NEXT_BUSINESS_DAY
from warroom.procedure.fields import Duration, SnakeId, duration
from warroom.procedure.page_schema import PageTarget
from warroom.procedure.playbook_schema import Action, Deadline, Playbook, PlaybookStep, check_playbooks

Loc = tuple[str | int, ...]
CrossCheckProblem = tuple[Loc, str]
CONSISTENCY_ERROR = "procedure_consistency"
ON_CALL = "on_call"  # a phase's `responsible` that is no role: whoever acknowledged the incident

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PhaseStatus = Literal["active", "resolved", "closed"]
Milestone = Literal["contained", "mitigated", "resolved", "closed", "eradicated", "recovered", "notified"]


def _severity_id(value: str) -> str:
    if not (1 <= len(value) <= 16) or not all(c.isascii() and (c.isalnum() or c in "_-") for c in value):
        raise ValueError("severity id must be 1-16 characters: letters, digits, '_' or '-' (e.g. 'P1')")
    return value


def _target(value: str) -> str:
    return value if value == NEXT_BUSINESS_DAY else duration(value)


SeverityId = Annotated[str, AfterValidator(_severity_id)]
NonEmpty = Annotated[str, Field(min_length=1)]
ResponseTarget = Annotated[str, AfterValidator(_target)]


def _work_week() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class _Model(BaseModel):
    # Unknown keys are almost always typos in a hand-written file, so they are errors.
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusinessHours(_Model):
    """When the organisation is at work; used for ``next_business_day`` targets."""

    timezone: str
    start: time
    end: time
    days: list[Weekday] = Field(default_factory=_work_week, min_length=1)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'UTC'") from exc
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time_as_text(cls, value: object) -> object:
        # pydantic would read a bare number as seconds since midnight UTC; in a hand-written
        # file that is always a mistake such as ``start: 9``.
        if isinstance(value, int | float):
            raise ValueError(f'write the time as "HH:MM" in quotes, not the number {value!r}')
        return value

    @field_validator("start", "end")
    @classmethod
    def _local_time(cls, value: time) -> time:
        # Hours are local to ``timezone``; an explicit offset would contradict it.
        if value.tzinfo is not None:
            raise ValueError("give a local time without an offset; the zone comes from 'timezone'")
        return value

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(f"end ({value.isoformat('minutes')}) must be after start")
        return value

    @field_validator("days")
    @classmethod
    def _distinct_days(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("days must not repeat")
        return value


class Severity(_Model):
    id: SeverityId
    name: NonEmpty
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    response_target: ResponseTarget
    page: list[PageTarget] = Field(default_factory=list)
    # More clocks than the first response: from declaration to the contained and resolved milestones. At
    # 80% the commander is paged; when missed, the `breach:` targets are (each once per incident).
    contain_target: Duration | None = None
    resolve_target: Duration | None = None
    breach: list[PageTarget] = Field(default_factory=list)
    update_cadence: Duration | None = None
    status_page: bool = False
    required_roles: list[str] = Field(default_factory=list)
    review_required: bool = False
    chat_channel: bool = False  # declaring at this severity opens a chat war room (Slack channel)


class Role(_Model):
    id: SnakeId
    name: NonEmpty
    description: str = ""
    responsibilities: list[str] = Field(default_factory=list)
    multiple: bool = False


class Phase(_Model):
    id: SnakeId
    name: NonEmpty
    description: str = ""
    exit_criteria: list[str] = Field(default_factory=list)
    next: list[str] = Field(default_factory=list)
    status: PhaseStatus = "active"
    milestones: list[Milestone] = Field(default_factory=list)
    # Role ids that must be held before an incident enters this phase, but only those the
    # incident's severity also lists in required_roles (so a P4 never blocks on them).
    entry_roles: list[str] = Field(default_factory=list)
    # Who sees the phase through (a role id, or `on_call`: whoever acknowledged the incident). Shown at the
    # top of the incident page with the phase's exit criteria as a checklist.
    responsible: str | None = None


class IncidentType(_Model):
    id: SnakeId
    name: NonEmpty
    description: str = ""
    default_severity: str | None = None
    restricted: bool = False
    # A `playbooks` id, or (the simple form) a list of step titles done in any order without gates.
    playbook: str | list[NonEmpty] = Field(default_factory=list)
    review_template: str | None = None  # a review_templates id; None: the first template
    deadlines: list[Deadline] = Field(default_factory=list)  # regulatory clocks from awareness


class ReviewTemplate(_Model):
    """Questions a post-incident review of this kind answers, beyond the standard sections."""

    id: SnakeId
    name: NonEmpty
    questions: list[NonEmpty] = Field(default_factory=list)


_Item = TypeVar("_Item", Severity, Role, Phase, IncidentType, ReviewTemplate)


def _find(items: list[_Item], item_id: str, kind: str) -> _Item:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(f"unknown {kind} {item_id!r}")


class Procedure(_Model):
    """An organisation's incident procedure; lists keep file order (severities most severe first)."""

    name: NonEmpty
    version: NonEmpty
    business_hours: BusinessHours
    severities: list[Severity] = Field(min_length=1)
    roles: list[Role] = Field(default_factory=list)
    phases: list[Phase] = Field(min_length=1)
    initial_phase: str = "triage"
    incident_types: list[IncidentType] = Field(default_factory=list)
    review_templates: list[ReviewTemplate] = Field(default_factory=list)
    communications: Communications = Field(default_factory=Communications)
    # The team (by slug) whose members see every restricted incident; None: only participants and admins.
    security_team: str | None = Field(default=None, max_length=64)
    # What services' cost_per_minute, and so reviews' cost estimates, are counted in (ISO 4217).
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # How often each team is drilled at least (90: quarterly); a team past it is reminded weekly.
    drill_every_days: int = Field(default=90, ge=1, le=366)
    # For this long after an incident recovers, a new alert on one of its services links to it and pages
    # its commander instead of a rule opening an unrelated incident. None: no watch.
    recurrence_watch: Duration | None = "24h"
    playbooks: list[Playbook] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = cross_check(self)
        if problems:
            details = "; ".join(f"{format_loc(loc)}: {message}" for loc, message in problems)
            raise PydanticCustomError(
                CONSISTENCY_ERROR,
                "inconsistent procedure: {details}",
                {"details": details, "problems": problems},
            )
        return self

    def severity(self, severity_id: str) -> Severity:
        return _find(self.severities, severity_id, "severity")

    def role(self, role_id: str) -> Role:
        return _find(self.roles, role_id, "role")

    def phase(self, phase_id: str) -> Phase:
        return _find(self.phases, phase_id, "phase")

    def incident_type(self, type_id: str) -> IncidentType:
        return _find(self.incident_types, type_id, "incident type")

    def review_template_for(self, type_id: str) -> ReviewTemplate | None:
        chosen = self.incident_type(type_id).review_template if type_id in self.type_ids() else None
        if chosen is not None:
            return _find(self.review_templates, chosen, "review template")
        return self.review_templates[0] if self.review_templates else None

    def playbook_for(self, type_id: str) -> Playbook | None:
        """The playbook an incident of this type starts; a list of titles becomes initial-phase steps."""
        playbook = self.incident_type(type_id).playbook if type_id in self.type_ids() else []
        if isinstance(playbook, str):
            return next(p for p in self.playbooks if p.id == playbook)
        if not playbook:
            return None
        steps = [
            PlaybookStep(id=f"step_{i}", title=t, phase=self.initial_phase) for i, t in enumerate(playbook, 1)
        ]
        return Playbook(id=type_id, name=self.incident_type(type_id).name, steps=steps)

    def action(self, action_id: str) -> Action:
        return next(a for a in self.actions if a.id == action_id)

    def severity_ids(self) -> list[str]:
        return [s.id for s in self.severities]

    def role_ids(self) -> list[str]:
        return [r.id for r in self.roles]

    def phase_ids(self) -> list[str]:
        return [p.id for p in self.phases]

    def type_ids(self) -> list[str]:
        return [t.id for t in self.incident_types]


def format_loc(loc: Loc) -> str:
    """Render a loc tuple as a path: ``("severities", 1, "id")`` -> ``severities[1].id``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


# ---------------------------------------------------------------------------------------------
# Cross-checks. They read plain mappings (raw YAML data or a model dump) and skip anything
# malformed, because field validation reports that and cascading errors would only add noise.

_SECTIONS: dict[str, str] = {
    "severities": "severity",
    "roles": "role",
    "phases": "phase",
    "incident_types": "incident type",
    "review_templates": "review template",
}


def _entries(data: Mapping[str, Any], section: str) -> list[tuple[int, Mapping[str, Any]]] | None:
    """Mapping entries of a section with their index; None when the section itself is malformed.

    A required section that is missing or empty counts as malformed: field validation already
    reports it, and checking references against nothing would only repeat that problem.
    """
    value = data.get(section, [])
    if not isinstance(value, list) or (not value and Procedure.model_fields[section].is_required()):
        return None
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def _unique_ids(data: Mapping[str, Any], section: str, problems: list[CrossCheckProblem]) -> set[str] | None:
    entries = _entries(data, section)
    if entries is None:
        return None
    first: dict[str, int] = {}
    for i, item in entries:
        item_id = item.get("id")
        if not isinstance(item_id, str):
            continue
        if item_id in first:
            problems.append(
                (
                    (section, i, "id"),
                    f"duplicate {_SECTIONS[section]} id {item_id!r} "
                    f"(first defined at {section}[{first[item_id]}])",
                )
            )
        else:
            first[item_id] = i
    return set(first)


def _unknown(kind: str, value: str, known: set[str]) -> str:
    return f"unknown {kind} {value!r}; defined: {', '.join(sorted(known)) or '(none)'}"


def _check_references(
    data: Mapping[str, Any],
    section: str,
    field: str,
    target: str,
    known: set[str] | None,
    problems: list[CrossCheckProblem],
) -> None:
    """Every string in ``section[i].field`` (a list) must be an id defined in section ``target``."""
    if known is None:
        return  # the target section is malformed; field validation reports it
    kind = _SECTIONS[target]
    for i, item in _entries(data, section) or []:
        refs = item.get(field)
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if not isinstance(ref, str):
                continue
            if field == "next" and ref == item.get("id"):
                problems.append(((section, i, field, j), f"phase {ref!r} cannot list itself as next"))
            elif ref not in known:
                problems.append(((section, i, field, j), _unknown(kind, ref, known)))


def _initial_phase(data: Mapping[str, Any]) -> str | None:
    initial = data.get("initial_phase", Procedure.model_fields["initial_phase"].default)
    return initial if isinstance(initial, str) else None  # a non-string is a field error


def _check_defaults(
    data: Mapping[str, Any],
    severities: set[str] | None,
    phases: set[str] | None,
    templates: set[str] | None,
    problems: list[CrossCheckProblem],
) -> None:
    initial = _initial_phase(data)
    if phases is not None and initial is not None and initial not in phases:
        problems.append((("initial_phase",), _unknown("phase", initial, phases)))
    for i, item in _entries(data, "incident_types") or []:
        default = item.get("default_severity")
        if severities is not None and isinstance(default, str) and default not in severities:
            problems.append(
                (("incident_types", i, "default_severity"), _unknown("severity", default, severities))
            )
        template = item.get("review_template")
        if templates is not None and isinstance(template, str) and template not in templates:
            problems.append(
                (("incident_types", i, "review_template"), _unknown("review template", template, templates))
            )


def _reachable(entries: list[tuple[int, Mapping[str, Any]]], initial: str, phases: set[str]) -> set[str]:
    """Phase ids reachable from ``initial`` by following ``next`` (depth-first search)."""
    edges: dict[str, list[str]] = {}
    for _, item in entries:
        targets = item.get("next")
        if isinstance(item.get("id"), str) and isinstance(targets, list):
            edges.setdefault(item["id"], []).extend(t for t in targets if isinstance(t, str))
    reached, frontier = {initial}, [initial]
    while frontier:
        for target in edges.get(frontier.pop(), []):
            if target in phases and target not in reached:
                reached.add(target)
                frontier.append(target)
    return reached


def _check_phase_graph(
    data: Mapping[str, Any], phases: set[str] | None, problems: list[CrossCheckProblem]
) -> None:
    entries = _entries(data, "phases")
    if phases is None or entries is None:
        return
    if not any(item.get("status") == "closed" for _, item in entries):
        problems.append((("phases",), "no phase has status 'closed'; incidents could never be closed"))
    initial = _initial_phase(data)
    if initial is None or initial not in phases:
        return  # already reported; reachability from an unknown phase means nothing
    reached = _reachable(entries, initial, phases)
    for i, item in entries:
        phase_id = item.get("id")
        if isinstance(phase_id, str) and phase_id not in reached:
            message = (
                f"phase {phase_id!r} cannot be reached from the initial phase {initial!r}; "
                "list it in another phase's 'next'"
            )
            problems.append((("phases", i, "id"), message))


def _check_responsible(
    data: Mapping[str, Any], roles: set[str] | None, problems: list[CrossCheckProblem]
) -> None:
    for i, item in _entries(data, "phases") or []:
        who = item.get("responsible")
        if roles is not None and isinstance(who, str) and who != ON_CALL and who not in roles:
            problems.append((("phases", i, "responsible"), _unknown("role", who, roles | {ON_CALL})))


def cross_check(procedure: Procedure | Mapping[str, Any]) -> list[CrossCheckProblem]:
    """Check references between sections; returns ``(loc, message)`` pairs, empty when consistent."""
    data = procedure.model_dump() if isinstance(procedure, Procedure) else procedure
    problems: list[CrossCheckProblem] = []
    ids = {section: _unique_ids(data, section, problems) for section in _SECTIONS}
    _check_references(data, "severities", "required_roles", "roles", ids["roles"], problems)
    _check_references(data, "phases", "next", "phases", ids["phases"], problems)
    _check_references(data, "phases", "entry_roles", "roles", ids["roles"], problems)
    _check_defaults(data, ids["severities"], ids["phases"], ids["review_templates"], problems)
    _check_phase_graph(data, ids["phases"], problems)
    check_communications(data, ids["severities"], problems)
    check_playbooks(data, problems)
    _check_responsible(data, ids["roles"], problems)
    return problems
