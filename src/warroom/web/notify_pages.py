"""My contact methods and notification rules (how a page reaches me), and a test message to any method."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import InvalidInput, NotFound, invalid
from warroom.inbound import is_digits, row_id
from warroom.notify import service as notify
from warroom.notify.channels import CHANNELS
from warroom.notify.models import OutgoingMessage
from warroom.web.deps import PageUser, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
HERE = "/me/notifications"
RECENT = 8
HINTS = {
    "email": "name@example.com",
    "webhook": "https://hooks.example.com/page-me",
    "apprise": "an Apprise URL: ntfy://topic, slack://..., tgram://...",
}


async def _page(
    request: Request,
    context: AppContext,
    user: User,
    *,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    async with context.db.read() as session:
        methods = await notify.list_methods(session=session, user_id=user.id)
        rules = await notify.list_rules(session=session, user_id=user.id)
        recent = (
            await session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.user_id == user.id)
                .order_by(OutgoingMessage.id.desc())
                .limit(RECENT)
            )
        ).all()
    return render(
        request,
        "notifications.html",
        status=status,
        user=user,
        methods=methods,
        method_names={m.id: m.label for m in methods},
        method_options=[(str(m.id), f"{m.label} ({m.kind})") for m in methods],
        rules=rules,
        recent=recent,
        kinds=[(k, k) for k in CHANNELS],
        hints=HINTS,
        forms=forms or {},
        title="My notifications",
    )


@router.get(HERE)
async def notifications(request: Request, user: PageUser, context: ContextDep) -> Response:
    return await _page(request, context, user)


@router.post(f"{HERE}/methods")
async def add_method(request: Request, user: PageUser, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            if not text(values, "address"):
                raise invalid("address", "is required")
            method = await notify.add_contact_method(
                session=session,
                user_id=user.id,
                kind=text(values, "kind"),
                address=text(values, "address")[:1000],
                label=text(values, "label")[:200],
                now=context.clock.now(),
            )
    except InvalidInput as error:
        return await _page(request, context, user, forms={"method": refused(values, error)}, status=422)
    return redirect(request, f"{HERE}#method-{method.id}", flash=f"Contact method {method.label} added")


@router.post(HERE + "/methods/{method_id}/delete")
async def delete_method(method_id: int, request: Request, user: PageUser, context: ContextDep) -> Response:
    try:
        async with writing(context) as session:
            await notify.delete_method(session=session, user_id=user.id, method_id=method_id)
    except NotFound as error:
        return redirect(request, HERE, flash=error.detail, tone="error")
    return redirect(request, HERE, flash="Contact method deleted, with its rules")


@router.post(HERE + "/methods/{method_id}/test")
async def send_test(method_id: int, request: Request, user: PageUser, context: ContextDep) -> Response:
    try:
        async with writing(context) as session:
            message = await notify.queue_test_message(
                session=session, user_id=user.id, method_id=method_id, now=context.clock.now()
            )
    except NotFound as error:
        return redirect(request, HERE, flash=error.detail, tone="error")
    flash = f"Test message queued to {message.address}: its state shows under Recent messages."
    return redirect(request, f"{HERE}#recent", flash=flash)


def _delay_seconds(values: FormValues) -> int:
    raw = text(values, "delay_minutes") or "0"
    if not is_digits(raw) or len(raw) > 9 or int(raw) > 1440:
        raise invalid("delay_minutes", "give whole minutes from 0 to 1440")
    return int(raw) * 60


@router.post(f"{HERE}/rules")
async def add_rule(request: Request, user: PageUser, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            delay = _delay_seconds(values)
            method = text(values, "contact_method")
            if row_id(method) is None:
                raise invalid("contact_method", "choose one of your contact methods")
            await notify.add_rule(
                session=session,
                user_id=user.id,
                contact_method_id=int(method),
                delay_seconds=delay,
                urgency=text(values, "urgency"),
            )
    except InvalidInput as error:
        return await _page(request, context, user, forms={"rule": refused(values, error)}, status=422)
    return redirect(request, f"{HERE}#rules", flash="Notification rule added")


@router.post(HERE + "/rules/{rule_id}/delete")
async def delete_rule(rule_id: int, request: Request, user: PageUser, context: ContextDep) -> Response:
    try:
        async with writing(context) as session:
            rule = await notify.get_rule(session=session, user_id=user.id, rule_id=rule_id)
            await notify.delete_rule(session=session, rule=rule)
    except NotFound as error:
        return redirect(request, HERE, flash=error.detail, tone="error")
    return redirect(request, f"{HERE}#rules", flash="Notification rule deleted")
