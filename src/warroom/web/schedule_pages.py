"""Schedules: who is on call over the next two weeks, gaps highlighted, and adding an override."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound
from warroom.oncall import domain
from warroom.oncall.schemas import OverrideCreate
from warroom.oncall.service import add_override, get_schedule, schedule_models
from warroom.web import schedule_editor as editor
from warroom.web.deps import PageCatalogWriter, PageInternal, PageWriter, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, parsed, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
WINDOW = timedelta(days=14)
BAR_WIDTH = 1400  # the SVG's own units: 100 per day


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    person: str | None  # None: nobody is on call (a gap)
    source: str
    x: float  # where the bar starts and how wide it is, in BAR_WIDTH units
    width: float
    colour: int  # one of a few fills, the same for the same person


@dataclass
class ScheduleView:
    id: int
    slug: str
    name: str
    time_zone: str
    now: Shift | None
    shifts: list[Shift]
    gaps: int
    form: FormState

    @property
    def legend(self) -> list[tuple[str, int]]:
        """Each person on the bar once, with their colour."""
        seen = {s.person: s.colour for s in self.shifts if s.person is not None}
        return list(seen.items())


def window_start(now: datetime) -> datetime:
    """The bar starts at midnight (UTC) today, so its day lines fall on day boundaries."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _shifts(spans: list[domain.Span], names: dict[int, str], start: datetime) -> list[Shift]:
    scale = BAR_WIDTH / WINDOW.total_seconds()
    colours: dict[str, int] = {}
    shifts = []
    for span in spans:
        if span.user is not None:
            colours.setdefault(span.user, len(colours) % 6)
        shifts.append(
            Shift(
                start=span.start,
                end=span.end,
                # Only active people page: a deactivated person's shift is a gap, shown as one.
                person=names.get(int(span.user)) if span.user is not None else None,
                source=span.source,
                x=round((span.start - start).total_seconds() * scale, 2),
                width=round((span.end - span.start).total_seconds() * scale, 2),
                colour=colours.get(span.user or "", -1),
            )
        )
    return shifts


async def _views(
    context: AppContext, now: datetime, forms: dict[str, FormState]
) -> tuple[list[ScheduleView], list[User]]:
    start = window_start(now)
    async with context.db.read() as session:
        models = await schedule_models(session=session, around=now)
        people = list((await session.scalars(select(User).where(User.is_active).order_by(User.name))).all())
    names = {u.id: u.name or u.email for u in people}
    views = []
    for schedule, model in models:
        shifts = _shifts(domain.final_schedule(model, start, start + WINDOW), names, start)
        current = next((s for s in shifts if s.start <= now < s.end), None)
        views.append(
            ScheduleView(
                id=schedule.id,
                slug=schedule.slug,
                name=schedule.name,
                time_zone=schedule.time_zone,
                now=current,
                shifts=shifts,
                gaps=sum(1 for s in shifts if s.person is None),
                form=forms.get(schedule.slug, FormState()),
            )
        )
    return views, people


async def _page(
    request: Request,
    context: AppContext,
    user: User,
    *,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    now = context.clock.now()
    views, people = await _views(context, now, forms or {})
    async with context.db.read() as session:
        rotations = await editor.rotations(session)
    start = window_start(now)
    days = [start + timedelta(days=d) for d in range(WINDOW.days)]
    now_x = round((now - start) / WINDOW * BAR_WIDTH, 2)
    return render(
        request,
        "schedules.html",
        status=status,
        user=user,
        schedules=views,
        people=people,
        days=days,
        bar_width=BAR_WIDTH,
        now_x=now_x,
        now=now,
        rotations=rotations,
        people_options=[(p.email, f"{p.name or p.email} ({p.email})") for p in people],
        forms=forms or {},
        places=editor.places,
        blank_rotation=editor.blank_rotation,
        units=[("hours", "hours"), ("days", "days"), ("weeks", "weeks")],
        title="Schedules",
    )


@router.get("/schedules")
async def schedules(request: Request, user: PageInternal, context: ContextDep) -> Response:
    return await _page(request, context, user)


def _override(values: FormValues, zone: ZoneInfo) -> OverrideCreate:
    """The form as the API's request shape; `datetime-local` fields are read in the schedule's time zone."""
    problems: list[FieldProblem] = []
    times: dict[str, datetime] = {}
    for name in ("starts_at", "ends_at"):
        raw = text(values, name)
        try:
            times[name] = datetime.fromisoformat(raw).replace(tzinfo=zone)
        except ValueError:
            problems.append(FieldProblem(name, "give a date and time" if raw else "is required"))
    if not text(values, "user"):
        problems.append(FieldProblem("user", "name someone (email)"))
    if problems:
        raise InvalidInput("the override was not added", problems)
    return parsed(OverrideCreate, {"user": text(values, "user"), **times}, "the override was not added")


@router.post("/schedules/{slug}/overrides")
async def override(slug: str, request: Request, user: PageWriter, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            schedule = await get_schedule(session=session, ref=slug)
            data = _override(values, ZoneInfo(schedule.time_zone))
            await add_override(
                session=session, schedule=schedule, data=data, actor=user.email, now=context.clock.now()
            )
    except InvalidInput as error:
        return await _page(request, context, user, forms={slug: refused(values, error)}, status=422)
    except NotFound as error:
        return redirect(request, "/schedules", flash=error.detail, tone="error")
    return redirect(request, f"/schedules#schedule-{slug}", flash=f"Override added to {schedule.name}")


async def _edit(
    request: Request,
    context: AppContext,
    user: User,
    action: str,
    slug: str = "",
    layer_id: int | None = None,
) -> Response:
    """Create a schedule, or add, change or remove a rotation; a refusal comes back on its own form."""
    values = await form_data(request)
    key = {"create": editor.NEW_SCHEDULE, "add": f"{slug}:new-layer"}.get(action, f"{slug}:layer-{layer_id}")
    try:
        async with writing(context) as session:
            name = await editor.apply(session, action, slug, layer_id, values, context.clock.now())
    except (InvalidInput, Conflict, NotFound) as error:
        state = editor.refused_form(values, error)
        return await _page(request, context, user, forms={key: state}, status=error.status)
    said = {"create": "created", "add": "has a new rotation", "delete": "lost a rotation"}.get(
        action, "saved"
    )
    target = text(values, "slug") if action == "create" else slug
    return redirect(request, f"/schedules#schedule-{target}", flash=f"{name} {said}")


@router.post("/schedules")
async def create_schedule(request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    return await _edit(request, context, user, "create")


@router.post("/schedules/{slug}/layers")
async def add_rotation(slug: str, request: Request, user: PageCatalogWriter, context: ContextDep) -> Response:
    return await _edit(request, context, user, "add", slug)


@router.post("/schedules/{slug}/layers/{layer_id}")
async def edit_rotation(
    slug: str, layer_id: int, request: Request, user: PageCatalogWriter, context: ContextDep
) -> Response:
    return await _edit(request, context, user, "edit", slug, layer_id)


@router.post("/schedules/{slug}/layers/{layer_id}/delete")
async def delete_rotation(
    slug: str, layer_id: int, request: Request, user: PageCatalogWriter, context: ContextDep
) -> Response:
    return await _edit(request, context, user, "delete", slug, layer_id)
