"""Request and response shapes of the Jira routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PROJECT_KEY = r"^[A-Z][A-Z0-9_]{0,63}$"


class JiraRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(default=0, ge=0, le=10_000, description="The first matching rule wins.")
    service: str | None = Field(default=None, max_length=64, description="Incidents touching this service.")
    incident_type: str | None = Field(default=None, max_length=64)
    restricted: bool = Field(
        default=False,
        description="For restricted incidents only (a project kept for them); they use no other.",
    )
    project: str = Field(pattern=PROJECT_KEY)
    issue_type: str = Field(default="Task", min_length=1, max_length=64)
    labels: list[str] = Field(default_factory=list, max_length=20)
    components: list[str] = Field(default_factory=list, max_length=20)
    priorities: dict[str, str] = Field(
        default_factory=dict,
        description='Severity -> Jira priority; default {"P1": "Highest", ... "P4": "Low"}.',
    )
    statuses: dict[str, str] = Field(
        default_factory=dict, description='Jira status -> phase, both ways: {"In Progress": "containment"}.'
    )


class JiraRuleOut(JiraRuleIn):
    model_config = ConfigDict(extra="ignore")

    id: int
