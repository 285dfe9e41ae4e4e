"""The escalations a group of steps walks, and the alerts they page for: read once per group (locked),
or taken from the transaction's own reads where triage has just started them (engine.STARTED_WALKS,
engine.PAGED_ALERTS); each walk's advance written back once, at the commit (jobs.held)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Table, bindparam, select, update

from warroom.alerts.models import Alert
from warroom.incidents.models import Incident
from warroom.jobs.kinds import JobRun
from warroom.paging.engine import PAGED_ALERTS, STARTED_WALKS, WALK_COLUMNS
from warroom.paging.models import Escalation

Row = TypeVar("Row")
_ESCALATIONS = cast(Table, Escalation.__table__)
_ALERTS = cast(Table, Alert.__table__)
_INCIDENTS = cast(Table, Incident.__table__)
# Only a walk still as this group read it (active, at the step and round it ran): the UPDATE is held for
# the commit (jobs.held), and whatever stopped or restarted the walk later in the same transaction (an
# acknowledgement, a page again) must not be written over by it. Another transaction cannot have changed
# the row meanwhile: it is locked (or inserted) by this one.
ADVANCE = (
    update(_ESCALATIONS)
    .where(
        _ESCALATIONS.c.id == bindparam("b_id"),
        _ESCALATIONS.c.state == "active",
        _ESCALATIONS.c.generation == bindparam("b_generation"),
        _ESCALATIONS.c.step == bindparam("b_was_step"),
        _ESCALATIONS.c.round == bindparam("b_was_round"),
    )
    .values(state=bindparam("b_state"), step=bindparam("b_step"), round=bindparam("b_round"))
)


@dataclass
class Walk:
    """An escalation's row as this group changes it."""

    id: int
    alert_id: int | None
    policy_id: int | None
    state: str
    urgency: str
    step: int
    round: int
    generation: int
    incident_id: int | None  # a declared incident's walk (no alert): paging.declared
    targets: list[dict[str, Any]] | None
    reason: str | None
    changed: bool = False
    was: tuple[int, int] = (0, 0)  # (step, round) as read: the advance is written only over those

    def __post_init__(self) -> None:
        self.was = (self.step, self.round)


class Paged(NamedTuple):
    """What a page says of its alert (or, for a declared incident's walk, of the incident: no id)."""

    id: int | None
    severity: str
    title: str
    description: str
    dedup_key: str
    incident_id: int | None
    restricted: bool | None  # its incident is restricted: the page names neither the alert nor the incident
    drill: bool | None = None  # its incident is a drill: every page says [DRILL] first
    service_id: int | None = None  # the alert's service (a declared incident's walk names its own reason)


# Built once (with an expanding IN): building a statement per group cost more than running it.
_e, _a = _ESCALATIONS.c, _ALERTS.c
_LOCK_WALKS = (
    select(*(_e[name] for name in WALK_COLUMNS))
    .where(_e.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(_e.id)  # one lock order for every group
    .with_for_update()
)
_READ_ALERTS = (
    select(
        _a.id,
        _a.severity,
        _a.title,
        _a.description,
        _a.dedup_key,
        _a.incident_id,
        _INCIDENTS.c.restricted,
        _INCIDENTS.c.drill,
        _a.service_id,
    )
    .select_from(_ALERTS.outerjoin(_INCIDENTS, _INCIDENTS.c.id == _a.incident_id))
    .where(_a.id.in_(bindparam("b_ids", expanding=True)))
)


async def read_walks(run: JobRun, payloads: list[dict[str, Any]]) -> dict[int, Walk]:
    """The escalations, locked; those this transaction started are its own already (engine.STARTED_WALKS)."""
    ids = sorted({int(payload["escalation_id"]) for payload in payloads})
    return await _kept_or_read(run, ids, STARTED_WALKS, _LOCK_WALKS, Walk)


async def read_alerts(run: JobRun, walks: list[Walk]) -> dict[int, Paged]:
    """What the pages say of their alerts; those triage has just read are in the memo (PAGED_ALERTS)."""
    ids = sorted({w.alert_id for w in walks if w.alert_id is not None})
    return await _kept_or_read(run, ids, PAGED_ALERTS, _READ_ALERTS, Paged)


async def _kept_or_read(
    run: JobRun, ids: list[int], key: str, statement: Any, make: Callable[..., Row]
) -> dict[int, Row]:
    """By id: the rows the group's memo keeps under `key`, and `statement`'s for the rest (one read)."""
    kept: dict[int, tuple[Any, ...]] = run.memo.get(key, {})
    found = {i: make(*kept[i]) for i in ids if i in kept}
    if rest := [i for i in ids if i not in kept]:
        rows = await run.session.execute(statement, {"b_ids": rest})
        found.update((row[0], make(*row)) for row in rows.all())
    return found
