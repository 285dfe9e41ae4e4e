"""OpenID Connect, the relying party's half: discovery from the issuer, the authorization code flow with
PKCE (Authlib's request builders, carried by httpx: Authlib's own httpx client wants `httpx2`), and the
ID token's signature and claims (joserfc, Authlib's JOSE library): issuer, audience, expiry, issued-at
and nonce, against the injected clock."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from warroom.lazy_import import imported

DISCOVERY_PATH = "/.well-known/openid-configuration"
METADATA_TTL_SECONDS = 3_600  # keys rotate; a provider's metadata is fetched again after an hour
LEEWAY_SECONDS = 60
TIMEOUT_SECONDS = 10.0
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]


class SignInFailed(Exception):
    """The provider refused, could not be reached, or its answer failed a check; `str()` says which."""


@dataclass(frozen=True)
class ProviderConfig:
    slug: str
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid email profile groups"
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str = "groups"


@dataclass(frozen=True)
class Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks: Any  # the JWKS document as served (joserfc checks its shape when importing it)
    device_authorization_endpoint: str | None
    fetched_at: float


_metadata: dict[str, Metadata] = {}  # per issuer, per process


async def _get_json(url: str) -> Any:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SignInFailed(f"cannot read {url}: {type(error).__name__}: {error}") from None


async def metadata(config: ProviderConfig, *, refresh: bool = False) -> Metadata:
    """The provider's discovery document and keys; its `issuer` must be the configured one exactly."""
    cached = _metadata.get(config.issuer)
    if cached is not None and not refresh and time.monotonic() - cached.fetched_at < METADATA_TTL_SECONDS:
        return cached
    document = await _get_json(config.issuer.rstrip("/") + DISCOVERY_PATH)
    if not isinstance(document, dict) or document.get("issuer") != config.issuer:
        raise SignInFailed(f"the discovery document does not name {config.issuer!r} as its issuer")
    try:
        found = Metadata(
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks=await _get_json(str(document["jwks_uri"])),
            device_authorization_endpoint=document.get("device_authorization_endpoint"),
            fetched_at=time.monotonic(),
        )
    except KeyError as missing:
        raise SignInFailed(f"the discovery document has no {missing}") from None
    _metadata[config.issuer] = found
    return found


async def authorization_url(
    config: ProviderConfig, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
) -> str:
    found = await metadata(config)
    return str(
        prepare_grant_uri(
            found.authorization_endpoint, client_id=config.client_id, response_type="code",
            redirect_uri=redirect_uri, scope=config.scopes, state=state, nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier), code_challenge_method="S256",
        )
    )  # fmt: skip


async def post_token_request(config: ProviderConfig, url: str, body: str) -> dict[str, Any]:
    """A token endpoint call with the client's secret (HTTP Basic); the provider's error said in words."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            answer = await client.post(
                url, content=body, headers=headers, auth=(config.client_id, config.client_secret)
            )
        token = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SignInFailed(f"the token endpoint cannot be used: {type(error).__name__}: {error}") from None
    if not isinstance(token, dict):
        raise SignInFailed("the token endpoint answered something other than a JSON object")
    if answer.status_code != 200 or "error" in token:
        code, description = token.get("error", answer.status_code), token.get("error_description") or ""
        raise SignInFailed(f"the provider refused: {code} {description}".strip()[:300])
    return token


async def exchange_code(
    config: ProviderConfig, *, redirect_uri: str, code: str, code_verifier: str, nonce: str, now: datetime
) -> dict[str, Any]:
    """The code for tokens at the token endpoint, then the ID token's verified claims."""
    found = await metadata(config)
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
    )
    token = await post_token_request(config, found.token_endpoint, body)
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("the provider answered without an ID token (is the openid scope granted?)")
    return await verify_id_token(config, id_token, nonce=nonce, now=now)


async def verify_id_token(
    config: ProviderConfig, id_token: str, *, nonce: str | None, now: datetime
) -> dict[str, Any]:
    """Signature by one of the provider's keys (fetched again once for an unknown key id), then iss, aud,
    exp, iat and, when one was sent, the nonce.

    joserfc is imported here, on the first sign-in and in a thread (then it is a lookup): its import took
    0.27 s of every server's and worker's start, and in the event loop it would hold up intake."""
    await imported("joserfc.jwt")
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    found = await metadata(config)
    try:
        try:
            decoded = jwt.decode(id_token, KeySet.import_key_set(found.jwks), algorithms=ALGORITHMS)
        except JoseError:
            fresh = await metadata(config, refresh=True)
            decoded = jwt.decode(id_token, KeySet.import_key_set(fresh.jwks), algorithms=ALGORITHMS)
        checks: dict[str, Any] = {
            "iss": {"essential": True, "value": config.issuer},
            "aud": {"essential": True, "value": config.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if nonce is not None:
            checks["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(now=int(now.timestamp()), leeway=LEEWAY_SECONDS, **checks)
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise SignInFailed(f"the ID token was refused: {error}") from None
    return dict(decoded.claims)


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
STILL_WAITING = ("authorization_pending", "slow_down")


async def start_device(config: ProviderConfig) -> dict[str, Any]:
    """RFC 8628: a user code and where to enter it; warroom is the (confidential) client, so the CLI never
    holds the client secret."""
    found = await metadata(config)
    if not found.device_authorization_endpoint:
        raise SignInFailed(f"{config.name} does not offer the device flow (no device_authorization_endpoint)")
    body = urlencode({"scope": config.scopes})
    answer = await post_token_request(config, found.device_authorization_endpoint, body)
    wanted = (
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "interval",
        "expires_in",
    )
    return {key: answer[key] for key in wanted if key in answer}


async def poll_device(config: ProviderConfig, device_code: str, now: datetime) -> dict[str, Any] | str:
    """The ID token's verified claims once the person approved; else "authorization_pending" or
    "slow_down" (ask again later); SignInFailed when denied or expired."""
    found = await metadata(config)
    body = prepare_token_request(DEVICE_GRANT, device_code=device_code)
    try:
        token = await post_token_request(config, found.token_endpoint, body)
    except SignInFailed as failure:
        waiting = next((code for code in STILL_WAITING if code in str(failure)), None)
        if waiting:
            return waiting
        raise
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("the provider answered without an ID token (is the openid scope granted?)")
    return await verify_id_token(config, id_token, nonce=None, now=now)
