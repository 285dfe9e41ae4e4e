"""The drill scenario file: synthetic alerts, expectations and timed injects (issue #17)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from warroom.observables.domain import TYPES, normalise
from warroom.procedure.domain import parse_duration


def _duration(value: str) -> str:
    parse_duration(value)  # raises ValueError naming the bad value
    return value


Duration = Annotated[str, AfterValidator(_duration)]
NonEmpty = Annotated[str, Field(min_length=1)]
IntakeFormat = Literal["pagerduty_v2", "alertmanager", "generic"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticAlert(_Model):
    """One payload sent through the intake of ``integration`` exactly as a monitor would send it."""

    id: NonEmpty
    format: IntakeFormat
    integration: NonEmpty
    payload: dict[str, Any]


class Observable(_Model):
    """An injected indicator (e.g. a known-bad IP on a host): the report's recall counts each host on which
    the responders recorded it. Put it in an alert's payload too if the detection itself shows it."""

    kind: NonEmpty
    value: NonEmpty
    hosts: list[NonEmpty] = Field(default_factory=list)

    @model_validator(mode="after")
    def _normalised(self) -> Observable:
        if self.kind not in TYPES:
            raise ValueError(f"observable kind {self.kind!r} is not one of {', '.join(TYPES)}")
        object.__setattr__(self, "value", normalise(self.kind, self.value))  # as the incident stores it
        return self


class Expectations(_Model):
    incident_type: NonEmpty
    severity: NonEmpty
    roles: list[str] = Field(default_factory=list)
    playbook: str | None = None
    communications: list[str] = Field(default_factory=list)


class Inject(_Model):
    """A new fact (``text``) or a further alert (``alert``, an id from ``alerts``) at ``at`` after start."""

    at: Duration
    text: str | None = None
    alert: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Inject:
        if (self.text is None) == (self.alert is None):
            raise ValueError("an inject needs exactly one of 'text' or 'alert'")
        return self


class Scenario(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    title: NonEmpty
    description: str = ""
    alerts: list[SyntheticAlert] = Field(min_length=1)
    start_alerts: list[str] = Field(default_factory=list)
    expect: Expectations
    observables: list[Observable] = Field(default_factory=list)
    injects: list[Inject] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_alerts(self) -> Scenario:
        known = {alert.id for alert in self.alerts}
        named = list(self.start_alerts) + [i.alert for i in self.injects if i.alert is not None]
        unknown = sorted({name for name in named if name not in known})
        if unknown:
            raise ValueError(f"unknown alert id(s) {', '.join(unknown)}; define them under 'alerts'")
        return self

    def opening_alerts(self) -> list[SyntheticAlert]:
        """The alerts sent when the drill fires: ``start_alerts`` or, if empty, the first alert."""
        if not self.start_alerts:
            return [self.alerts[0]]
        return [a for a in self.alerts if a.id in self.start_alerts]
