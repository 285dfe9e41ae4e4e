"""Jinja2 (autoescaped) and the few helpers every page uses: render, redirect, flash, time formatting."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from warroom.alerts.domain import count_label
from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.durations import spoken
from warroom.web.forms import FormState
from warroom.web.sessions import (
    COOKIE,
    FLASH_COOKIE,
    REFUSED_COOKIE,
    Refusal,
    SessionCodec,
    WebSession,
    cookie_settings,
)

if TYPE_CHECKING:
    from warroom.web.live import LiveFeed


@dataclass
class WebState:
    templates: Environment
    codec: SessionCodec
    feed: LiveFeed
    static_version: str
    sop_html: str


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def duration(seconds: float) -> str:
    """`95` -> `1 min 35 s`; `7260` -> `2 h 1 min`; `200000` -> `2 d 7 h` (warroom.durations)."""
    return spoken(seconds)


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else ""


def short_time(value: datetime | None) -> str:
    """UTC as text; the page script rewrites it in the reader's time zone."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def static_version() -> str:
    digest = hashlib.sha256()
    for name in ("warroom.css", "warroom.js"):
        digest.update((files("warroom.web") / "static" / name).read_bytes())
    return digest.hexdigest()[:10]


@cache
def make_templates() -> Environment:
    """One environment per process, shared by every app it builds: Jinja compiles each template once per
    environment (~17 ms a template here, 0.8 s for all 46; a web test's pages cost ~0.1 s in every new app
    before), and nothing here differs between apps."""
    env = Environment(
        loader=PackageLoader("warroom.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=duration, iso=iso, short_time=short_time, urlquote=quote, count_label=count_label
    )
    return env


def session_of(request: Request) -> WebSession:
    """The visitor's session, read once per request (every visitor has one, signed in or not)."""
    found: WebSession | None = getattr(request.state, "web_session", None)
    if found is None:
        found = web_state(request).codec.load(request.cookies.get(COOKIE))
        request.state.web_session = found
    return found


def finish(request: Request, response: Response) -> Response:
    """Write the session cookie when it changed (the security headers are the app's middleware's)."""
    state = web_state(request)
    session = session_of(request)
    if session.dirty:
        response.set_cookie(COOKIE, session.session_id, **cookie_settings(state.codec, request))
    if getattr(request.state, "flash_seen", False):
        response.delete_cookie(FLASH_COOKIE, path="/")
    if getattr(request.state, "refused_seen", False):
        response.delete_cookie(REFUSED_COOKIE, path="/")
    return response


def render(
    request: Request, template: str, *, status: int = 200, user: User | None = None, **values: Any
) -> Response:
    state = web_state(request)
    session = session_of(request)
    flash = state.codec.load_flash(request.cookies.get(FLASH_COOKIE))
    request.state.flash_seen = flash is not None
    context = {
        "request": request,
        "path": request.url.path,
        "user": user,
        "can_write": bool(user and allows(user.role, Permission.incident_write)),
        "can_internal": bool(user and allows(user.role, Permission.incident_internal)),
        "can_catalog": bool(user and allows(user.role, Permission.catalog_write)),
        "can_admin": bool(user and allows(user.role, Permission.users_manage)),
        "can_reopen": False,  # the incident page sets it for a closed incident
        "csrf": state.codec.csrf_token(session),
        "flash": flash,
        "static_version": state.static_version,
        "forms": {},
        "blank": FormState(),
        "own_refusal": False,  # a page that says why a form was refused itself (next to the form) sets it
        **values,
    }
    context["top_refusal"] = first_refusal(context)
    html = state.templates.get_template(template).render(context)
    return finish(request, HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"}))


def first_refusal(values: dict[str, Any]) -> tuple[str, str] | None:
    """A refused form's reason and the id of the form it came from, for the banner at the top of the page
    (a form may sit far down it, or on a phone several screens below)."""
    named = [*values.get("forms", {}).items(), *values.items()]
    for name, state in named:
        if isinstance(state, FormState) and state.failed:
            reason = state.message or next(iter(state.errors.values()), "")
            return reason, str(name)
    return None


def redirect(request: Request, url: str, *, flash: str | None = None, tone: str = "ok") -> Response:
    """303 See Other (POST, then redirect, then GET), with an optional one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        codec = web_state(request).codec
        settings = {**cookie_settings(codec, request), "max_age": 120}
        response.set_cookie(FLASH_COOKIE, codec.dump_flash(flash, tone), **settings)
    return finish(request, response)


# Browsers keep cookies up to 4 KB; a refused form bigger than this (a long update) is shown in place instead.
REFUSED_MAX_BYTES = 3_000


def redirect_refused(request: Request, url: str, form: str, state: FormState, status: int) -> Response | None:
    """303 back to the page the form is on, carrying the refused form (values, errors, message) for that
    page to show once, with the refusal's status: the address stays the page's, and reloading it does not
    post again. None when the form is too big for a cookie."""
    codec = web_state(request).codec
    values = {k: v for k, v in state.values.items() if k != "csrf_token"}
    carried = codec.dump_refused(Refusal(form, status, values, state.errors, state.message))
    if len(carried) > REFUSED_MAX_BYTES:
        return None
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(REFUSED_COOKIE, carried, **{**cookie_settings(codec, request), "max_age": 120})
    return finish(request, response)


def take_refused(request: Request) -> tuple[str, FormState, int] | None:
    """The refused form carried to this page (its name, state and status), if any; its cookie is cleared
    with this response."""
    found = web_state(request).codec.load_refused(request.cookies.get(REFUSED_COOKIE))
    if found is None:
        return None
    request.state.refused_seen = True
    return (
        found.form,
        FormState(values=found.values, errors=found.errors, message=found.message),
        found.status,
    )


def safe_next(target: str | None) -> str:
    """Only local paths: `next=https://evil.example` must not turn sign-in into an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
