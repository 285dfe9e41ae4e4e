"""The session cookie, CSRF tokens and flash messages for the web UI.

The cookie holds one random id and nothing else. Every visitor gets one (anonymous until they sign in),
because the CSRF token of every form, the sign-in form included, is an HMAC of it. Signing in issues a new
id (no session fixation) and stores its hash in `web_sessions` (warroom.auth.sessions), which alone says
who is signed in and until when: an id with no live row is simply an anonymous visitor.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from warroom.auth.domain import SESSION_ID_PATTERN, new_session_id
from warroom.clock import Clock

COOKIE = "warroom_session"
FLASH_COOKIE = "warroom_flash"
REFUSED_COOKIE = "warroom_refused"  # a refused form, carried across the redirect back to its page
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass
class WebSession:
    session_id: str  # the cookie's value
    dirty: bool = False  # the cookie must be (re)written on the response

    @classmethod
    def fresh(cls) -> WebSession:
        return cls(session_id=new_session_id(), dirty=True)

    def renew(self) -> str:
        """A new id (at sign-in, sign-out, or when the old one's session ended); returns the old one."""
        old, self.session_id, self.dirty = self.session_id, new_session_id(), True
        return old


class _ClockSigner(TimestampSigner):
    """Timestamps from the app's clock, so tests that move time also age flash messages."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


@dataclass(frozen=True)
class Refusal:
    """A refused form on its way back to its page: which form, the status it was refused with, what was
    typed, the message by each field and the one for the whole form."""

    form: str
    status: int
    values: dict[str, Any]
    errors: dict[str, str]
    message: str


class SessionCodec:
    """`secure`: the public base URL is https, so cookies are Secure whatever the request's scheme."""

    def __init__(self, secret: str, clock: Clock, *, secure: bool, max_age_seconds: int) -> None:
        self._secret = secret.encode("utf-8")
        self.secure = secure
        self.max_age_seconds = max_age_seconds
        self._flashes = URLSafeTimedSerializer(
            secret, salt="warroom.web.flash", signer=_ClockSigner, signer_kwargs={"clock": clock}
        )
        self._refusals = URLSafeTimedSerializer(
            secret, salt="warroom.web.refused", signer=_ClockSigner, signer_kwargs={"clock": clock}
        )

    def load(self, raw: str | None) -> WebSession:
        """The visitor's session id from the cookie, or a fresh one when it is missing or malformed."""
        if raw and SESSION_ID_PATTERN.match(raw):
            return WebSession(session_id=raw)
        return WebSession.fresh()

    def csrf_token(self, session: WebSession) -> str:
        return hmac.new(self._secret, f"csrf:{session.session_id}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: WebSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), str(token))

    def dump_flash(self, message: str, tone: str) -> str:
        return self._flashes.dumps([tone, message[:500]])

    def dump_refused(self, refusal: Refusal) -> str:
        return self._refusals.dumps(
            [refusal.form, refusal.status, refusal.values, refusal.errors, refusal.message]
        )

    def load_refused(self, raw: str | None) -> Refusal | None:
        """The refused form carried in the cookie; None if missing, stale or forged."""
        if not raw:
            return None
        try:
            form, status, values, errors, message = self._refusals.loads(raw, max_age=120)
            return Refusal(str(form), int(status), dict(values), dict(errors), str(message))
        except (BadSignature, ValueError, TypeError):
            return None

    def load_flash(self, raw: str | None) -> tuple[str, str] | None:
        if not raw:
            return None
        try:
            tone, message = self._flashes.loads(raw, max_age=120)
        except (BadSignature, ValueError, TypeError):
            return None
        return str(message), str(tone)


def is_https(codec: SessionCodec, request: Request) -> bool:
    """The base URL says https, or this request came over https (directly or via a trusted proxy)."""
    return codec.secure or request.url.scheme == "https"


def cookie_settings(codec: SessionCodec, request: Request) -> dict[str, Any]:
    return {
        "max_age": codec.max_age_seconds,
        "httponly": True,
        "samesite": "lax",
        "secure": is_https(codec, request),
        "path": "/",
    }
