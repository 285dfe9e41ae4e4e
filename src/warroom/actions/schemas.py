from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from warroom.incidents.schemas import Strict, TaskOut, UserRef


class StepStart(Strict):
    target: str = Field(
        default="",
        max_length=300,
        description="What the step's action acts on: a host, an account, a sender.",
    )


class ActionRunOut(BaseModel):
    id: int
    task_id: int | None
    action: str
    name: str = Field(description="The action's name in the procedure (its id if it is no longer there).")
    state: str = Field(description="awaiting_approval, queued, succeeded or failed.")
    target: str
    requested_by: UserRef | None
    requested_at: datetime
    approved_by: UserRef | None
    approved_at: datetime | None
    request: dict[str, Any] = Field(description="The body that was (or, for a drill, would have been) sent.")
    response_status: int | None
    response_body: str
    error: str
    finished_at: datetime | None


class StepStarted(BaseModel):
    task: TaskOut
    action_run: ActionRunOut | None = Field(
        description="The run it asked for; null when the step names no action or it is not automated here."
    )
