"""Signed session cookies and CSRF tokens for the web UI.

The cookie is `{"n": nonce, "u": user id, "f": password fingerprint}`, signed and timestamped with the
server's secret key (itsdangerous), so every server process reads it without shared state. It is not
encrypted: it holds nothing secret. Every visitor gets one (anonymous until they sign in), because the CSRF
token of every form, the sign-in form included, is an HMAC of the session's nonce. Signing in starts a new
nonce (no session fixation); changing the password changes the fingerprint, which signs out every other
session; signing out clears the cookie. A session lapses after IDLE_LIMIT without a page load.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from warroom.auth.models import User
from warroom.clock import Clock

COOKIE = "warroom_session"
FLASH_COOKIE = "warroom_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
IDLE_LIMIT = timedelta(days=7)
RENEW_AFTER = timedelta(minutes=10)


@dataclass
class WebSession:
    nonce: str
    user_id: int | None = None
    fingerprint: str = ""
    issued_at: datetime | None = None
    dirty: bool = False  # the cookie must be (re)written on the response

    @classmethod
    def fresh(cls) -> WebSession:
        return cls(nonce=secrets.token_urlsafe(18), dirty=True)


class _ClockSigner(TimestampSigner):
    """Timestamps from the app's clock, so tests that move time also age sessions."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


class SessionCodec:
    def __init__(self, secret: str, clock: Clock, *, secure: bool) -> None:
        self._secret = secret.encode("utf-8")
        self._clock = clock
        self.secure = secure
        self._cookies = URLSafeTimedSerializer(
            secret, salt="warroom.web.session", signer=_ClockSigner, signer_kwargs={"clock": clock}
        )
        self._flashes = URLSafeTimedSerializer(
            secret, salt="warroom.web.flash", signer=_ClockSigner, signer_kwargs={"clock": clock}
        )

    def load(self, raw: str | None) -> WebSession:
        """The session in the cookie, or a fresh anonymous one when it is missing, forged or lapsed."""
        if not raw:
            return WebSession.fresh()
        try:
            body, issued = self._cookies.loads(
                raw, max_age=int(IDLE_LIMIT.total_seconds()), return_timestamp=True
            )
        except BadSignature:
            return WebSession.fresh()
        if not isinstance(body, dict) or not isinstance(body.get("n"), str):
            return WebSession.fresh()
        user_id = body.get("u")
        issued_at = issued.astimezone(UTC)
        return WebSession(
            nonce=body["n"],
            user_id=user_id if isinstance(user_id, int) else None,
            fingerprint=str(body.get("f", "")),
            issued_at=issued_at,
            dirty=self._clock.now() - issued_at > RENEW_AFTER,  # sliding renewal
        )

    def dump(self, session: WebSession) -> str:
        return self._cookies.dumps({"n": session.nonce, "u": session.user_id, "f": session.fingerprint})

    def fingerprint(self, user: User) -> str:
        """Changes when the password does, so a password change ends every other session."""
        material = f"pw:{user.id}:{user.password_hash or ''}".encode()
        return hmac.new(self._secret, material, hashlib.sha256).hexdigest()[:24]

    def csrf_token(self, session: WebSession) -> str:
        return hmac.new(self._secret, f"csrf:{session.nonce}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: WebSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), str(token))

    def dump_flash(self, message: str, tone: str) -> str:
        return self._flashes.dumps([tone, message[:500]])

    def load_flash(self, raw: str | None) -> tuple[str, str] | None:
        if not raw:
            return None
        try:
            tone, message = self._flashes.loads(raw, max_age=120)
        except (BadSignature, ValueError, TypeError):
            return None
        return str(message), str(tone)


def sign_in(codec: SessionCodec, session: WebSession, user: User) -> None:
    """A new nonce (the pre-sign-in one may have been planted), bound to the user and their password."""
    session.nonce = secrets.token_urlsafe(18)
    session.user_id = user.id
    session.fingerprint = codec.fingerprint(user)
    session.dirty = True


def sign_out(session: WebSession) -> None:
    session.nonce = secrets.token_urlsafe(18)
    session.user_id = None
    session.fingerprint = ""
    session.dirty = True


def cookie_settings(codec: SessionCodec) -> dict[str, Any]:
    return {
        "max_age": int(IDLE_LIMIT.total_seconds()),
        "httponly": True,
        "samesite": "lax",
        "secure": codec.secure,
        "path": "/",
    }
