"""A real OpenID provider on loopback for the tests, built on Authlib's server side: discovery, a JWKS, the
authorization endpoint (PKCE required, a nonce required) and the token endpoint issuing RS256 ID tokens.

There is no login form: whoever the test names in `signed_in_as` is the person at the provider, who
consents at once. Switches make it misbehave the ways a relying party must refuse: a wrong audience, an
expired token, a nonce from an earlier sign-in."""

from __future__ import annotations

import json
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from authlib.oauth2 import AuthorizationServer, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.http import serving

CLIENT_ID = "warroom-tests"
CLIENT_SECRET = "client-secret-for-tests"


@dataclass
class Person:
    sub: str
    email: str
    name: str
    groups: list[str] = field(default_factory=list)


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", DEVICE_CODE_GRANT_TYPE)


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return "0"

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass
class Provider:
    """The provider's state, and the switches a test flips."""

    url: str = ""
    people: dict[str, Person] = field(default_factory=dict)
    signed_in_as: str = ""  # the sub of whoever is "at the provider"
    audience: str | None = None  # None: the client's id
    expires_in: int = 300
    replay_nonce: bool = False  # answer with the nonce of the previous sign-in
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    nonces: list[str] = field(default_factory=list)
    devices: dict[str, DeviceCredentialDict] = field(default_factory=dict)  # by device code
    approvals: dict[str, tuple[Person, bool]] = field(default_factory=dict)  # by user code
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key"}))
    clock: Callable[[], float] = time.time  # the relying party's clock, so tokens are fresh by its time

    def add(self, person: Person) -> Person:
        self.people[person.sub] = person
        return person

    def approve(self, user_code: str, sub: str, approved: bool = True) -> None:
        """The person at the verification page enters the code and says yes (or no)."""
        self.approvals[user_code] = (self.people[sub], approved)

    def id_token(self, client_id: str, person: Person) -> str:
        now = int(self.clock())
        claims = {"iss": self.url, "aud": [self.audience or client_id], "sub": person.sub, "iat": now,
                  "exp": now + self.expires_in, "email": person.email, "email_verified": True,
                  "name": person.name, "groups": list(person.groups)}  # fmt: skip
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)


class _Payload(OAuth2Payload):
    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._values.items()}

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return defaultdict(list, self._values)


class _Request(OAuth2Request):
    def __init__(
        self, method: str, uri: str, headers: Any, query: dict[str, list[str]], form: dict[str, list[str]]
    ):
        super().__init__(method, uri, headers=headers)
        self._query, self._form = query, form
        self.payload = _Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._query.items()}

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._form.items()}


class Server(AuthorizationServer):
    """Authlib's generic authorization server over this module's request objects."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile", "groups"])
        self.provider = provider

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> Provider:
        server: Server = self.server
        return server.provider

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.provider.codes[code] = Code(
            code=code, client_id=request.client.client_id, redirect_uri=data.get("redirect_uri", ""),
            scope=data.get("scope", ""), sub=request.user.sub, nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"), auth_time=int(self.provider.clock()),
        )  # fmt: skip

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.provider.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> Person | None:
        return self.provider.people.get(authorization_code.sub)


class IdToken(OpenIDCode):
    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": "test-key"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now, lifetime = int(self.provider.clock()), self.provider.expires_in
        return {"iss": self.provider.url, "aud": [self.provider.audience or client.client_id],
                "iat": now - max(0, -lifetime), "exp": now + lifetime}  # fmt: skip

    def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        if self.provider.replay_nonce and len(self.provider.nonces) > 1:
            claims["nonce"] = self.provider.nonces[-2]
        return claims

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return nonce in self.provider.nonces[:-1]

    def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
        return {"sub": user.sub, "email": user.email, "email_verified": True, "name": user.name,
                "groups": list(user.groups)}  # fmt: skip


class DeviceEndpoint(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.provider = server.provider

    def get_verification_uri(self) -> str:
        return f"{self.provider.url}/device"

    def save_device_credential(self, client_id: str, scope: str, data: dict[str, Any]) -> None:
        expires_at = time.time() + data["expires_in"]  # DeviceCredentialDict.is_expired reads the wall clock
        credential = DeviceCredentialDict(client_id=client_id, scope=scope, expires_at=expires_at, **data)
        self.provider.devices[data["device_code"]] = credential


class DeviceGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> Provider:
        server: Server = self.server
        return server.provider

    def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
        return self.provider.devices.get(device_code)

    def query_user_grant(self, user_code: str) -> tuple[Person, bool] | None:
        return self.provider.approvals.get(user_code)

    def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
        return False

    def create_token_response(self) -> tuple[int, dict[str, Any], Any]:
        """The device grant's token, with an ID token (Authlib adds one only to the code flow)."""
        status, token, headers = super().create_token_response()
        token["id_token"] = self.provider.id_token(self.request.client.client_id, self.request.user)
        return status, token, headers


def _server(provider: Provider) -> Server:
    server = Server(provider)
    server.register_token_generator(
        "default", BearerTokenGenerator(access_token_generator=lambda **_facts: secrets.token_urlsafe(24))
    )
    server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken(provider)])
    server.register_grant(DeviceGrant)
    server.register_endpoint(DeviceEndpoint(server))
    return server


def _discovery(provider: Provider) -> dict[str, Any]:
    return {
        "issuer": provider.url,
        "authorization_endpoint": f"{provider.url}/authorize",
        "token_endpoint": f"{provider.url}/token",
        "jwks_uri": f"{provider.url}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "device_authorization_endpoint": f"{provider.url}/device_authorization",
    }


class Handler(BaseHTTPRequestHandler):
    """The provider's HTTP face; `running_provider` binds it to one provider and its server."""

    provider: Provider
    authority: Server  # not `server`: BaseHTTPRequestHandler's is the HTTP server

    def _answer(self, status: int, body: Any, headers: Any = ()) -> None:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        payload = data.encode() if isinstance(data, str) else data
        self.send_response(status)
        sent = dict(headers or [])
        sent.setdefault("Content-Type", "application/json")
        for name, value in sent.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _request(self) -> _Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        return _Request(
            self.command, self.provider.url + self.path, self.headers, parse_qs(parts.query), form
        )

    def _authorize(self) -> None:
        """No login form: whoever `signed_in_as` names is at the provider, and consents."""
        request = self._request()
        self.provider.nonces.append(request.payload.data.get("nonce", ""))
        person = self.provider.people.get(self.provider.signed_in_as)
        try:
            grant = self.authority.get_consent_grant(request, end_user=person)
        except OAuth2Error as error:
            self._answer(error.status_code, dict(error.get_body()))
            return
        self._answer(*self.authority.create_authorization_response(request, grant_user=person, grant=grant))

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            self._answer(200, _discovery(self.provider))
        elif path == "/jwks":
            self._answer(200, {"keys": [self.provider.key.as_dict(private=False)]})
        elif path == "/authorize":
            self._authorize()
        else:
            self._answer(404, {"error": "not_found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/token":
            self._answer(*self.authority.create_token_response(self._request()))
        elif path == "/device_authorization":
            self._answer(*self.authority.create_endpoint_response("device_authorization", self._request()))
        else:
            self._answer(404, {"error": "not_found"})

    def log_message(self, *args: Any) -> None:
        return None


@contextmanager
def running_provider(redirect_uris: list[str] | None = None) -> Iterator[Provider]:
    provider = Provider()
    bound = type("BoundHandler", (Handler,), {"provider": provider, "authority": _server(provider)})
    with serving(bound) as http:
        provider.url = f"http://127.0.0.1:{http.server_address[1]}"
        provider.clients[CLIENT_ID] = Client(CLIENT_ID, CLIENT_SECRET, list(redirect_uris or []))
        yield provider
