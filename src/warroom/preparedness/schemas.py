from __future__ import annotations

from pydantic import BaseModel

from warroom.preparedness.domain import Readiness


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str
    fix: str


class ReadinessOut(BaseModel):
    ref: str
    name: str
    score: int  # percent of checks passed
    checks: list[CheckOut]
    to_fix: list[str]

    @classmethod
    def of(cls, found: Readiness) -> ReadinessOut:
        checks = [CheckOut(name=c.name, ok=c.ok, detail=c.detail, fix=c.fix) for c in found.checks]
        return cls(ref=found.ref, name=found.name, score=found.score, checks=checks, to_fix=found.to_fix)


class PreparednessOut(BaseModel):
    services: list[ReadinessOut]
    people: list[ReadinessOut]
