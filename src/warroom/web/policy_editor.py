"""The escalation policy step editor: one row per step (minutes to wait, and who to page, picked by name
from people, schedules and teams), used to create a policy and to edit one. Works without script: a row
with nobody chosen is dropped, and there is always one empty row to add a step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team, User
from warroom.catalog.models import Service
from warroom.errors import FieldProblem, InvalidInput
from warroom.inbound import is_digits
from warroom.oncall.models import Schedule
from warroom.web.forms import FormValues, as_list, text

MAX_STEPS = 20
TARGET_KINDS = ("user", "schedule", "team")


@dataclass(frozen=True)
class Choices:
    """What a step may page, grouped for the picker: (value "kind:ref", label) per group."""

    people: list[tuple[str, str]]
    schedules: list[tuple[str, str]]
    teams: list[tuple[str, str]]
    services: list[tuple[str, str]]


async def choices(session: AsyncSession) -> Choices:
    people = await session.execute(select(User.email, User.name).where(User.is_active).order_by(User.name))
    schedules = await session.execute(select(Schedule.slug, Schedule.name).order_by(Schedule.name))
    teams = await session.execute(select(Team.slug, Team.name).order_by(Team.name))
    services = await session.execute(select(Service.slug, Service.name).order_by(Service.name))
    return Choices(
        people=[(f"user:{email}", f"{name or email} ({email})") for email, name in people],
        schedules=[(f"schedule:{slug}", f"{name} (schedule)") for slug, name in schedules],
        teams=[(f"team:{slug}", f"{name} (team)") for slug, name in teams],
        services=[(slug, name) for slug, name in services],
    )


def step_values(steps: list[tuple[int, list[Any]]]) -> dict[str, str | list[str]]:
    """A policy's steps as the editor's rows: `step-N-wait` (minutes) and `step-N-targets`."""
    values: dict[str, str | list[str]] = {}
    for index, (delay, targets) in enumerate(steps):
        values[f"step-{index}-wait"] = str(delay // 60)
        values[f"step-{index}-targets"] = [f"{t.kind}:{t.ref}" for t in targets]
    return values


def row_count(values: FormValues) -> int:
    """The rows to show: every posted or stored step, and one empty row to add another."""
    used = [i for i in range(MAX_STEPS) if f"step-{i}-wait" in values or f"step-{i}-targets" in values]
    return min(MAX_STEPS, (max(used) + 2) if used else 1)


def row_fields(values: FormValues) -> frozenset[str]:
    return frozenset(f"step-{i}-{part}" for i in range(row_count(values)) for part in ("wait", "targets"))


def parse_rows(values: FormValues) -> list[dict[str, Any]]:
    """The steps the rows describe, in order; each problem named on its row's field."""
    steps, problems = [], []
    for index in range(MAX_STEPS):
        wait, targets = text(values, f"step-{index}-wait"), as_list(values, f"step-{index}-targets")
        if not targets:
            continue  # nobody chosen: no step (how a step is removed, and the empty row)
        if not is_digits(wait or "0") or len(wait) > 5 or int(wait or "0") > 7 * 24 * 60:
            problems.append(FieldProblem(f"step-{index}-wait", "give whole minutes, up to a week (10080)"))
            continue
        bad = [t for t in targets if t.partition(":")[0] not in TARGET_KINDS or not t.partition(":")[2]]
        if bad:
            problem = f"not a person, schedule or team: {bad[0]!r}"
            problems.append(FieldProblem(f"step-{index}-targets", problem))
            continue
        steps.append({
            "delay_seconds": int(wait or "0") * 60,
            "targets": [{"type": t.partition(":")[0], "ref": t.partition(":")[2]} for t in targets],
        })  # fmt: skip
    if problems:
        raise InvalidInput("the steps were not saved", problems)
    if not steps:
        raise InvalidInput("the steps were not saved", [FieldProblem("step-0-targets", "choose who to page")])
    return steps
