"""create_app(settings) -> FastAPI: mounts every router and owns the database engine's lifetime.

Beside the composition root (warroom.wiring), which builds the context and the worker this app runs on.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from starlette.types import ASGIApp

from warroom import __version__
from warroom.actions.api import router as actions_router
from warroom.alerts.api import router as alerts_router
from warroom.alerts.intake.api import router as intake_router
from warroom.alerts.intake.fastlane import IntakeFastLane
from warroom.alerts.rules.api import ping_router
from warroom.alerts.rules.api import router as rules_router
from warroom.auth.api import router as auth_router
from warroom.catalog.api import router as catalog_router
from warroom.chat.mattermost_api import router as mattermost_router
from warroom.chat.slack_api import router as slack_router
from warroom.clock import Clock
from warroom.comms.api import preview_router as update_preview_router
from warroom.comms.api import router as stakeholders_router
from warroom.config import Settings
from warroom.context import AppContext
from warroom.crm.api import hooks as hubspot_hooks_router
from warroom.crm.api import incident_router as customers_router
from warroom.crm.api import router as hubspot_router
from warroom.doctor.api import router as doctor_router
from warroom.drills.api import router as drills_router
from warroom.evidence.api import router as evidence_router
from warroom.http_guards import NormalisedRequests, ServerErrors
from warroom.http_security import security_layers
from warroom.identity.api import device_router as sign_in_router
from warroom.identity.api import router as identity_router
from warroom.identity.scim_api import router as scim_router
from warroom.incidents.api import router as incidents_router
from warroom.incidents.playbook_api import router as playbook_router
from warroom.intel.api import incident_router as intel_incident_router
from warroom.intel.api import router as intel_router
from warroom.jobs.api import router as jobs_router
from warroom.metrics.api import exposition_router
from warroom.metrics.api import router as metrics_router
from warroom.notify.api import router as notify_router
from warroom.observables.api import router as observables_router
from warroom.oncall.api import feeds as ical_router
from warroom.oncall.api import router as oncall_router
from warroom.oncall.policy_api import router as policy_router
from warroom.openapi import install_openapi
from warroom.paging.incident_api import router as incident_paging_router
from warroom.preparedness.api import router as preparedness_router
from warroom.problems import BodyLimitMiddleware, install_problem_handlers
from warroom.procedure.api import router as procedure_router
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.service import register_version
from warroom.reports.api import router as reports_router
from warroom.reviews.api import items_router as action_items_router
from warroom.reviews.api import router as reviews_router
from warroom.route_table import add_routes
from warroom.statuspage.api import incident_router as incident_status_page_router
from warroom.statuspage.api import router as status_page_router
from warroom.statuspage.public_api import router as status_json_router
from warroom.tracker.api import hooks as jira_hooks_router
from warroom.tracker.api import router as jira_router
from warroom.web.ack_page import router as ack_router
from warroom.web.mount import install_web
from warroom.web.public_status import router as status_pages_router
from warroom.wiring import build_context, new_worker

# Intake first: it is the hot path, and routes are matched in order (keep new routers after it: 40 routers
# ahead of it cost 18% of intake throughput). ping_router before intake_router:
# /intake/heartbeat/{key} must win over /intake/{kind}/{key}.
ROUTERS = (
    ping_router, intake_router,
    intel_router, intel_incident_router, identity_router, sign_in_router, scim_router,
    incidents_router, incident_paging_router, reports_router, alerts_router,
    rules_router,
    auth_router, catalog_router, procedure_router, oncall_router, policy_router, ical_router, ack_router,
    notify_router, jobs_router,
    metrics_router, exposition_router, reviews_router, action_items_router, stakeholders_router,
    update_preview_router, status_page_router, status_json_router, status_pages_router,
    slack_router, mattermost_router, preparedness_router, drills_router, playbook_router, actions_router,
    observables_router, evidence_router, incident_status_page_router, jira_router, jira_hooks_router,
    doctor_router, hubspot_router, customers_router, hubspot_hooks_router,
)  # fmt: skip
INTAKE_PREFIXES = ("/v2/", "/intake/")
INTAKE_MAX_BYTES = 512 * 1024  # PagerDuty's documented limit; the same for every sender


def freeze_startup_heap() -> None:
    """What start-up built (~200k objects: the procedure, routes, templates, the ORM's metadata) lives as
    long as the process; frozen, a full collection no longer walks it. It took 145 ms and fell on whichever
    request allocated past the threshold (one /incidents page in fifty in the web bench: p99 166 ms -> 16)."""
    gc.collect()
    gc.freeze()


# FastAPI's native OpenTelemetry, off: warroom's metrics are Prometheus's (/metrics) and its logs structlog's.
# On, it looked up the global OpenTelemetry providers (environment variables included) on every request:
# 4% of an intake request's CPU under load, for spans nothing here exports.
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class SecuredApp(FastAPI):
    """FastAPI whose whole middleware stack sits inside the security layers (warroom.http_security), behind
    intake's fast lane (warroom.alerts.intake.fastlane)."""

    def build_middleware_stack(self) -> ASGIApp:
        wrap: Callable[[ASGIApp], ASGIApp] = self.state.security_layers
        fast_lane = IntakeFastLane(
            super().build_middleware_stack(),
            context=self.state.warroom,
            max_bytes=INTAKE_MAX_BYTES,
            exception_handlers=self.exception_handlers,
        )
        return wrap(fast_lane)


def _lifespan(
    context: AppContext, *, run_worker: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    # The web UI's live feed lives on app.state.web (see warroom.web.mount); it stops with the app.
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with context.db.write() as session:
            await register_version(session=session, loaded=context.procedure, now=context.clock.now())
            await session.commit()
        stop = asyncio.Event()
        worker_task = None
        if run_worker:
            worker = new_worker(context)
            context.wake_worker = worker.wake
            worker_task = asyncio.create_task(worker.run_forever(stop), name="worker")
        if context.intake is not None:
            context.intake.writer.start()  # it derives what a crash left in the intake backlog
        undo_drain = _app.state.web.feed.drain_on_exit_signals()
        freeze_startup_heap()
        yield
        undo_drain()
        await _app.state.web.feed.stop()
        stop.set()
        if worker_task is not None:
            await worker_task
        if context.intake is not None:
            await context.intake.writer.stop()
        await context.db.engine.dispose()

    return lifespan


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    procedure: LoadedProcedure | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """The API and UI; with `run_worker`, this process also runs the job worker (what `warroom run` does)."""
    context = build_context(settings, clock, procedure)
    app = SecuredApp(
        title="warroom",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=_lifespan(context, run_worker=run_worker),
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.warroom = context
    install_problem_handlers(app)
    # Added innermost first: ServerErrors wraps everything, then the body limit, then normalisation.
    app.add_middleware(NormalisedRequests, own_body_prefixes=(*INTAKE_PREFIXES, "/chat/", "/hooks/"))
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        prefix_limits={p: INTAKE_MAX_BYTES for p in INTAKE_PREFIXES},
        # An upload's multipart framing and form fields come on top of the file itself.
        suffix_limits={"/evidence": settings.evidence_max_mb * 1_048_576 + 65_536},
    )
    app.add_middleware(ServerErrors)
    app.state.security_layers = security_layers(
        base_is_https=settings.resolved_base_url().startswith("https://"),
        trusted_proxies=settings.trusted_proxy_list(),
        docs_path=app.docs_url,
    )
    # Health first: routes are matched in turn, so a route added after them all was found only after
    # 1.6 ms of failed matches: load balancers poll these.
    _add_health(app, context)
    add_routes(app, ROUTERS)
    install_web(app, context)
    install_openapi(app)
    return app


def _add_health(app: FastAPI, context: AppContext) -> None:
    degraded = {"description": "The database is unreachable", "content": {"application/json": {}}}

    @app.get("/healthz", tags=["health"], responses={503: degraded})
    async def healthz() -> JSONResponse:
        body: dict[str, Any] = {
            "status": "ok",
            "version": __version__,
            "procedure": context.procedure.version_hash,
        }
        try:
            async with context.db.read() as session:
                await session.execute(text("SELECT 1"))
            body["database"] = {"status": "ok", "dialect": context.db.dialect}
        except Exception as error:  # noqa: BLE001  (a health check reports any failure instead of raising)
            body["status"] = "degraded"
            body["database"] = {
                "status": "unreachable",
                "dialect": context.db.dialect,
                "error": type(error).__name__,
            }
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)


def app_from_environment() -> FastAPI:
    """The app as `warroom serve --processes N` starts it in each process: settings from the environment."""
    return create_app(Settings())
