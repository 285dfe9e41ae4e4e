"""Request and response shapes of an incident's playbook, guided phase and regulatory clocks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from warroom.incidents.schemas import Strict, TaskOut, UserRef


class StepWaiver(Strict):
    reason: str = Field(min_length=1, max_length=2_000, description="Why the incident can do without it.")


class ChecklistTick(Strict):
    phase: str = Field(max_length=64, description="The phase whose exit criterion this is.")
    criterion: int = Field(ge=0, le=1_000, description="Its position in the phase's exit criteria, from 0.")
    done: bool = True


class CriterionOut(BaseModel):
    index: int
    text: str
    ticked: bool
    ticked_by: UserRef | None = None
    ticked_at: datetime | None = None


class ResponsibleOut(BaseModel):
    role: str | None = Field(description="A role id, `on_call` (whoever acknowledged), or null.")
    name: str
    people: list[UserRef]


class GuidedPhaseOut(BaseModel):
    """The current phase as the SOP guides it: who sees it through, what must be true to leave it."""

    id: str
    name: str
    description: str
    responsible: ResponsibleOut | None
    checklist: list[CriterionOut]
    open_gates: list[int] = Field(description="Tasks (ids) whose gates hold the incident in this phase.")


class DeadlineOut(BaseModel):
    id: str
    name: str
    authority: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    state: str = Field(description="ok, warn, urgent or overdue while running; met or missed once stopped.")


class PlaybookOut(BaseModel):
    playbook: str | None = Field(description="The playbook the incident started, if its type has one.")
    name: str | None
    procedure_version: str = Field(description="The procedure (and so playbook) version it runs under.")
    phase: GuidedPhaseOut
    steps: list[TaskOut]
    deadlines: list[DeadlineOut]
    targets: list[DeadlineOut] = Field(
        description="The severity's contain and resolve clocks, if it sets any."
    )
