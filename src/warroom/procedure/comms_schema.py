"""The procedure's `communications` section: stakeholder audiences and the Jinja templates of their updates.

Templates are checked when the procedure loads, not when an incident needs them: each must parse, and each
must render against a sample update with undefined names refused, so a typo such as `{{ incident.titel }}`
fails `warroom procedure check` instead of a P1's first stakeholder update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Sandboxed: a procedure file is reviewed config, but a template must never reach Python internals anyway.
TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

# What every update template can use; `warroom procedure render` lists these names for template authors.
SAMPLE_CONTEXT: dict[str, Any] = {
    "incident": {
        "ref": "INC-42",
        "title": "Checkout is down",
        "severity": "P1",
        "severity_name": "Critical",
        "phase": "containment",
        "phase_name": "Containment",
        "status": "active",
        "customer_impact": "Card payments fail for most customers.",
        "services": ["checkout"],
        "commander": "Ann Example",
        "communications_lead": "Bob Example",
        "declared_at": "2026-12-03 16:10 UTC",
        "url": "https://warroom.example/incidents/INC-42",
    },
    "update": {"number": 2, "body": "We rolled back deploy 4812.", "posted_at": "2026-12-03 16:40 UTC"},
    "author": "Bob Example",
    "next_update_at": "2026-12-03 17:10 UTC",
    "status_page_url": "https://warroom.example/status",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_template(source: str) -> str:
    try:
        TEMPLATES.from_string(source).render(SAMPLE_CONTEXT)
    except TemplateError as error:
        raise ValueError(f"template does not render: {error}") from None
    return source


class Audience(_Model):
    """Who hears about incidents outside the war room: internal stakeholders, executives, customers."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    name: str = Field(min_length=1)
    description: str = ""
    severities: list[str] = Field(default_factory=list)  # empty: every severity
    # Internal audiences may get the incident's link into warroom; external ones (customers) never do.
    internal: bool = True
    # Whether a drill's stakeholder updates go to this list (marked [DRILL]); an external audience never.
    drills: bool = False

    @model_validator(mode="after")
    def _drills_stay_inside(self) -> Self:
        if self.drills and not self.internal:
            raise ValueError(f"audience {self.id!r} is external (internal: false): it can never take drills")
        return self


class UpdateTemplate(_Model):
    audience: str
    severities: list[str] = Field(default_factory=list)  # empty: any severity the audience hears about
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)

    @field_validator("subject", "body")
    @classmethod
    def _renders(cls, value: str) -> str:
        return check_template(value)


class Communications(_Model):
    audiences: list[Audience] = Field(default_factory=list)
    templates: list[UpdateTemplate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _audiences_known(self) -> Self:
        known = {a.id for a in self.audiences}
        if len(known) != len(self.audiences):
            raise ValueError("audience ids must be unique")
        for template in self.templates:
            if template.audience not in known:
                defined = ", ".join(sorted(known))
                raise ValueError(f"template for unknown audience {template.audience!r}; defined: {defined}")
        return self

    def audience(self, audience_id: str) -> Audience:
        for audience in self.audiences:
            if audience.id == audience_id:
                return audience
        raise KeyError(f"unknown audience {audience_id!r}")

    def audiences_for(self, severity: str, drill: bool = False) -> list[Audience]:
        """The audiences that hear about an incident of this severity (of a drill: those that take drills)."""
        return [
            a
            for a in self.audiences
            if (not a.severities or severity in a.severities) and (a.drills or not drill)
        ]

    def template_for(self, audience_id: str, severity: str) -> UpdateTemplate | None:
        """The template naming this severity wins over the audience's catch-all (no severities)."""
        mine = [t for t in self.templates if t.audience == audience_id]
        exact = [t for t in mine if severity in t.severities]
        fallback = [t for t in mine if not t.severities]
        found = exact or fallback
        return found[0] if found else None


CrossCheckProblem = tuple[tuple[str | int, ...], str]


def check_communications(
    data: Mapping[str, Any], severities: set[str] | None, problems: list[CrossCheckProblem]
) -> None:
    """Severities named in audiences and templates exist, and every audience has a template for every
    severity it hears about. Reads raw data and skips what field validation reports."""
    section = data.get("communications")
    if severities is None or not isinstance(section, Mapping):
        return
    audiences = [a for a in section.get("audiences") or [] if isinstance(a, Mapping)]
    templates = [t for t in section.get("templates") or [] if isinstance(t, Mapping)]
    for kind, items in (("audiences", audiences), ("templates", templates)):
        for i, item in enumerate(items):
            for j, severity in enumerate(item.get("severities") or []):
                if isinstance(severity, str) and severity not in severities:
                    known = ", ".join(sorted(severities))
                    problems.append(
                        (
                            ("communications", kind, i, "severities", j),
                            f"unknown severity {severity!r}; defined: {known}",
                        )
                    )
    for i, audience in enumerate(audiences):
        heard = audience.get("severities") or sorted(severities)
        mine = [t for t in templates if t.get("audience") == audience.get("id")]
        covered = set().union(*(set(t.get("severities") or severities) for t in mine)) if mine else set()
        missing = [s for s in heard if isinstance(s, str) and s in severities and s not in covered]
        if missing:
            problems.append(
                (
                    ("communications", "audiences", i),
                    f"no update template for severities {', '.join(missing)}",
                )
            )
