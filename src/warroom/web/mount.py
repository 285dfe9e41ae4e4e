"""Mount the web UI on the app: page routers, static files, and HTML error pages for the pages' errors.

The API, intake and `/ack/{token}` keep their own routes and problem+json errors: a handler here answers in
HTML only for errors raised by a web page's endpoint (or a browser asking for a path nobody serves).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import cast
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from starlette.exceptions import HTTPException

from warroom.context import AppContext
from warroom.errors import DomainError
from warroom.route_table import add_routes
from warroom.web import (
    admin_doctor,
    admin_sso,
    admin_teams,
    admin_users,
    alert_detail,
    alert_pages,
    auth_pages,
    dashboard,
    declare_page,
    drill_pages,
    incident_actions,
    incident_list,
    incident_pages,
    integration_pages,
    intel_page,
    notify_pages,
    paging_forms,
    policy_pages,
    preparedness_page,
    procedure_page,
    report_page,
    reports_page,
    review_pages,
    schedule_pages,
    search_page,
    security_forms,
    service_pages,
    sse,
    sso_pages,
    stakeholder_pages,
    status_draft_form,
    status_pages,
)
from warroom.web.deps import SignInRequired
from warroom.web.live import LiveFeed
from warroom.web.procedure_page import sop_html
from warroom.web.render import WebState, make_templates, render, static_version
from warroom.web.sessions import SessionCodec

ROUTERS = (
    auth_pages.router,
    sso_pages.router,
    admin_sso.router,
    admin_doctor.router,
    intel_page.router,
    dashboard.router,
    declare_page.router,
    incident_list.router,
    incident_pages.router,
    incident_actions.router,
    paging_forms.router,
    security_forms.router,
    status_draft_form.router,
    alert_pages.router,
    alert_detail.router,
    procedure_page.router,
    reports_page.router,
    report_page.router,
    preparedness_page.router,
    drill_pages.router,
    search_page.router,
    review_pages.router,
    schedule_pages.router,
    service_pages.router,
    stakeholder_pages.router,
    status_pages.router,
    integration_pages.router,
    notify_pages.router,
    policy_pages.router,
    admin_users.router,
    admin_teams.router,
    sse.router,
)
MACHINE_PREFIXES = ("/api/", "/v2/", "/intake/", "/ack/", "/ical/", "/healthz", "/metrics")
Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_web(app: FastAPI, context: AppContext) -> WebState:
    secret = context.settings.ensure_secret_key().get_secret_value()
    state = WebState(
        templates=make_templates(),
        codec=SessionCodec(
            secret,
            context.clock,
            secure=context.settings.resolved_base_url().startswith("https://"),
            max_age_seconds=context.settings.session_max_hours * 3600,
        ),
        feed=LiveFeed(context.db),
        static_version=static_version(),
        sop_html=Markup(sop_html(context.procedure)),  # markdown-it escapes raw HTML (html off)
    )
    app.state.web = state
    add_routes(app, ROUTERS)
    static = Path(str(files("warroom.web") / "static"))
    app.mount("/static", StaticFiles(directory=static), name="static")
    _install_error_pages(app)
    return state


def _from_web_page(request: Request) -> bool:
    endpoint = request.scope.get("endpoint")
    return getattr(endpoint, "__module__", "").startswith("warroom.web.")


def _browser_lost(request: Request) -> bool:
    """A browser asking for a page that does not exist (no endpoint matched)."""
    path = request.url.path
    return (
        request.scope.get("endpoint") is None
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(MACHINE_PREFIXES)
    )


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    user = getattr(request.state, "web_user", None)
    return render(request, "error.html", status=status, user=user, heading=title, detail=detail, title=title)


def _install_error_pages(app: FastAPI) -> None:
    domain = cast(Handler, app.exception_handlers[DomainError])
    validation = cast(Handler, app.exception_handlers[RequestValidationError])
    http = cast(Handler, app.exception_handlers[HTTPException])

    async def domain_error(request: Request, error: Exception) -> Response:
        if not _from_web_page(request) or not isinstance(error, DomainError):
            return await domain(request, error)
        return _error_page(request, error.status, error.title, error.detail)

    async def validation_error(request: Request, error: Exception) -> Response:
        if not _from_web_page(request):
            return await validation(request, error)
        return _error_page(request, 422, "Invalid request", "The address or form was not understood.")

    async def http_error(request: Request, error: Exception) -> Response:
        if not isinstance(error, HTTPException) or not (_from_web_page(request) or _browser_lost(request)):
            return await http(request, error)
        detail = "There is no page here." if error.status_code == 404 else str(error.detail)
        return _error_page(
            request, error.status_code, "Not found" if error.status_code == 404 else "Error", detail
        )

    async def sign_in_required(request: Request, _error: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"  # a form posted by a lapsed session cannot be replayed after signing in
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
