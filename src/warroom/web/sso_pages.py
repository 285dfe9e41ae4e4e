"""Sign in with an OpenID provider: "/auth/sso/{slug}" starts the authorization code flow (PKCE, a nonce,
and a state bound to this browser by a short-lived cookie, so nobody can sign a victim into their own
account); the provider's answer at ".../callback" signs the person in, just in time."""

from __future__ import annotations

import hmac

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from warroom.deps import ContextDep
from warroom.identity import service as sso
from warroom.identity.domain import ClaimsRefused, person_from_claims
from warroom.identity.oidc import SignInFailed, authorization_url, exchange_code
from warroom.web.auth_pages import login_form, start_session
from warroom.web.deps import client_address, writing
from warroom.web.forms import FormState
from warroom.web.render import redirect, safe_next, web_state
from warroom.web.sessions import cookie_settings

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("warroom.identity")
STATE_COOKIE = "warroom_sso_state"


def _callback(context: ContextDep, slug: str) -> str:
    return f"{context.settings.resolved_base_url()}/auth/sso/{slug}/callback"


@router.get("/auth/sso/{slug}")
async def start(slug: str, request: Request, context: ContextDep) -> Response:
    target = safe_next(request.query_params.get("next"))
    async with writing(context) as session:
        config = await sso.provider(session=session, settings=context.settings, slug=slug)
        state, nonce, verifier = await sso.start_sign_in(
            session=session, config=config, next_path=target, now=context.clock.now()
        )
    try:
        url = await authorization_url(
            config, redirect_uri=_callback(context, slug), state=state, nonce=nonce, code_verifier=verifier
        )
    except SignInFailed as failure:
        return await _refused(request, context, f"{config.name} cannot be reached: {failure}", 502)
    response = RedirectResponse(url, status_code=303)
    codec = web_state(request).codec
    response.set_cookie(STATE_COOKIE, state, **{**cookie_settings(codec, request), "max_age": 600})
    return response


async def _refused(request: Request, context: ContextDep, message: str, status: int) -> Response:
    response = await login_form(request, context, FormState(values={"next": "/"}, message=message), status)
    response.delete_cookie(STATE_COOKIE, path="/")
    return response


@router.get("/auth/sso/{slug}/callback")
async def callback(slug: str, request: Request, context: ContextDep) -> Response:
    params, now = request.query_params, context.clock.now()
    state, code = params.get("state", ""), params.get("code", "")
    if error := params.get("error"):
        return await _refused(request, context, f"The provider refused the sign-in: {error[:200]}", 403)
    if not state or not hmac.compare_digest(state, request.cookies.get(STATE_COOKIE, "")):
        return await _refused(
            request, context, "This sign-in was not started in this browser; start again.", 400
        )
    try:
        async with writing(context) as session:  # the state is spent before the provider is asked
            config = await sso.provider(session=session, settings=context.settings, slug=slug)
            pending = await sso.take_sign_in(session=session, state=state, slug=slug, now=now)
            verifier, nonce, target = pending.code_verifier, pending.nonce, pending.next_path
        claims = await exchange_code(config, redirect_uri=_callback(context, slug), code=code,
                                     code_verifier=verifier, nonce=nonce, now=now)  # fmt: skip
        person = person_from_claims(claims, email_claim=config.email_claim, name_claim=config.name_claim,
                                    groups_claim=config.groups_claim)  # fmt: skip
        async with writing(context) as session:
            outcome = await sso.sign_in_person(session=session, slug=slug, person=person, now=now)
    except (SignInFailed, ClaimsRefused) as failure:
        log.warning("sso.refused", provider=slug, reason=str(failure))
        return await _refused(request, context, f"Single sign-on failed: {failure}", 403)
    if outcome.user is None:
        log.warning("sso.refused", provider=slug, reason=outcome.refused)
        return await _refused(request, context, outcome.refused, 403)
    await start_session(request, context, outcome.user, address=client_address(request))
    response = redirect(request, target, flash=f"Signed in as {outcome.user.email}")
    response.delete_cookie(STATE_COOKIE, path="/")
    return response
