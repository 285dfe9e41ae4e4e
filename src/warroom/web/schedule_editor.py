"""The rotation editor's forms (web/schedule_pages.py has the routes): a schedule with its first rotation,
a rotation added or changed (who, in which order, from when, how long a shift, in which zone, until when),
read into the API's request shapes. People are picked by name, one select per place in the rotation, so the
order is what the form shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound
from warroom.oncall import service as oncall
from warroom.oncall.models import Schedule, ScheduleLayer
from warroom.oncall.schemas import LayerIn, LayerPatch, ScheduleCreate
from warroom.web.forms import FormState, FormValues, parsed, refused, text

MAX_PLACES = 30
ROTATION_FIELDS = frozenset({"layer_name", "start", "end", "shift_length", "shift_unit", "layer_zone"})
NEW_SCHEDULE = "new-schedule"


def places(values: FormValues) -> int:
    """Selects to show: every filled place, and two empty ones to add people."""
    filled = [i for i in range(MAX_PLACES) if text(values, f"participant-{i}")]
    return min(MAX_PLACES, (max(filled) + 3) if filled else 3)


def layer_values(layer: ScheduleLayer, emails: dict[int, str]) -> dict[str, str | list[str]]:
    zone = ZoneInfo(layer.time_zone)
    values: dict[str, str | list[str]] = {
        "layer_name": layer.name,
        "start": layer.start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "end": layer.end.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if layer.end else "",
        "shift_length": str(layer.shift_length),
        "shift_unit": layer.shift_unit,
        "layer_zone": layer.time_zone,
    }
    for index, user_id in enumerate(layer.participant_ids):
        values[f"participant-{index}"] = emails.get(user_id, str(user_id))
    return values


async def rotations(session: AsyncSession) -> dict[int, list[tuple[ScheduleLayer, FormState]]]:
    """Every schedule's rotations with their edit forms filled in, by schedule id."""
    emails = {uid: email for uid, email in await session.execute(select(User.id, User.email))}
    found: dict[int, list[tuple[ScheduleLayer, FormState]]] = {}
    for layer in await session.scalars(
        select(ScheduleLayer).order_by(ScheduleLayer.priority.desc(), ScheduleLayer.id)
    ):
        found.setdefault(layer.schedule_id, []).append((layer, FormState(values=layer_values(layer, emails))))
    return found


def _zone(values: FormValues, fallback: str) -> tuple[str, ZoneInfo]:
    name = text(values, "layer_zone") or fallback
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            "the rotation was not saved", [FieldProblem("layer_zone", f"no time zone {name!r}")]
        ) from None


def _local(values: FormValues, name: str, zone: ZoneInfo, required: bool) -> datetime | None:
    raw = text(values, name)
    if not raw:
        if required:
            raise InvalidInput("the rotation was not saved", [FieldProblem(name, "is required")])
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=zone)
    except ValueError:
        raise InvalidInput(
            "the rotation was not saved", [FieldProblem(name, "give a date and time")]
        ) from None


def rotation_fields(values: FormValues, fallback_zone: str) -> dict[str, Any]:
    """The rotation part of a form as the API's layer fields (times read in the rotation's zone)."""
    zone_name, zone = _zone(values, fallback_zone)
    people = [text(values, f"participant-{i}") for i in range(MAX_PLACES)]
    chosen = [p for p in people if p]
    if not chosen:
        raise InvalidInput(
            "the rotation was not saved", [FieldProblem("participant-0", "choose who takes turns")]
        )
    length = text(values, "shift_length")
    if not length.isdigit() or len(length) > 5:
        raise InvalidInput(
            "the rotation was not saved", [FieldProblem("shift_length", "give a whole number")]
        )
    return {
        "name": text(values, "layer_name") or "Rotation", "participants": chosen,
        "start": _local(values, "start", zone, True), "end": _local(values, "end", zone, False),
        "shift_length": int(length), "shift_unit": text(values, "shift_unit"), "time_zone": zone_name,
    }  # fmt: skip


def schedule_create(values: FormValues) -> ScheduleCreate:
    zone = text(values, "time_zone") or "UTC"
    layer = rotation_fields(values, zone)
    fields = {
        "slug": text(values, "slug"),
        "name": text(values, "name"),
        "time_zone": zone,
        "layers": [layer],
    }
    return parsed(ScheduleCreate, fields, "the schedule was not created")


def layer_in(values: FormValues, schedule: Schedule) -> LayerIn:
    return parsed(LayerIn, rotation_fields(values, schedule.time_zone), "the rotation was not saved")


def layer_patch(values: FormValues, schedule: Schedule) -> LayerPatch:
    return parsed(LayerPatch, rotation_fields(values, schedule.time_zone), "the rotation was not saved")


def refused_form(values: FormValues, error: InvalidInput | Conflict | NotFound) -> FormState:
    """The rotation form as posted, each problem by its field (the API's names mapped to the form's)."""
    renames = {"participants": "participant-0", "name": "layer_name", "time_zone": "layer_zone"}
    fields = ROTATION_FIELDS | {f"participant-{i}" for i in range(places(values))} | {"slug", "time_zone"}
    return refused(values, error, renames=renames, fields=fields)


async def apply(
    session: AsyncSession, action: str, slug: str, layer_id: int | None, values: FormValues, now: datetime
) -> str:
    """One editor action (create, add, edit, delete) on the database; returns the schedule's name."""
    if action == "create":
        made = await oncall.create_schedule(session=session, data=schedule_create(values), now=now)
        return made.name
    schedule = await oncall.get_schedule(session=session, ref=slug)
    if action == "add":
        await oncall.add_layer(session=session, schedule=schedule, data=layer_in(values, schedule))
        return schedule.name
    layer = await oncall.get_layer(session=session, schedule=schedule, layer_id=layer_id or 0)
    if action == "delete":
        await oncall.delete_layer(session=session, layer=layer)
    else:
        patch = layer_patch(values, schedule)
        await oncall.update_layer(session=session, schedule=schedule, layer=layer, patch=patch)
    return schedule.name


def blank_rotation(zone: str) -> FormState:
    """A new rotation's form: a weekly shift in the schedule's zone until someone says otherwise."""
    return FormState(
        values={"layer_name": "Primary", "shift_length": "1", "shift_unit": "weeks", "layer_zone": zone}
    )
