"""The web UI's pure parts: session cookies, CSRF tokens, the live feed's id cursor, refused forms."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field, ValidationError

from tests.conftest import START
from warroom.auth.models import User
from warroom.clock import FrozenClock
from warroom.errors import Conflict, invalid
from warroom.web.forms import refused
from warroom.web.live import GAP_PATIENCE, MAX_GAPS, Cursor
from warroom.web.render import duration, safe_next
from warroom.web.sessions import IDLE_LIMIT, RENEW_AFTER, SessionCodec, WebSession, sign_in, sign_out

SECRET = "s" * 40


def codec(clock: FrozenClock) -> SessionCodec:
    return SessionCodec(SECRET, clock, secure=False)


def user(password_hash: str = "hash-1") -> User:
    return User(id=7, email="a@b.c", password_hash=password_hash, is_active=True)


def test_a_signed_in_session_round_trips_and_a_tampered_one_is_anonymous() -> None:
    clock = FrozenClock(START)
    cookies = codec(clock)
    session = WebSession.fresh()
    sign_in(cookies, session, user())
    raw = cookies.dump(session)
    loaded = cookies.load(raw)
    assert (loaded.user_id, loaded.fingerprint, loaded.nonce) == (7, session.fingerprint, session.nonce)
    assert not loaded.dirty
    assert cookies.load(raw[:-2] + ("AA" if not raw.endswith("AA") else "BB")).user_id is None
    assert SessionCodec("other" * 10, clock, secure=False).load(raw).user_id is None
    assert cookies.load("garbage").user_id is None and cookies.load(None).dirty


def test_sessions_renew_while_used_and_lapse_when_idle() -> None:
    clock = FrozenClock(START)
    cookies = codec(clock)
    session = WebSession.fresh()
    sign_in(cookies, session, user())
    raw = cookies.dump(session)
    clock.advance(RENEW_AFTER + timedelta(seconds=1))
    assert cookies.load(raw).dirty  # due for a fresh timestamp
    clock.advance(IDLE_LIMIT)
    assert cookies.load(raw).user_id is None


def test_sign_in_starts_a_new_nonce_and_sign_out_forgets_the_user() -> None:
    cookies = codec(FrozenClock(START))
    session = WebSession.fresh()
    before = cookies.csrf_token(session)
    sign_in(cookies, session, user())
    assert cookies.csrf_token(session) != before  # a planted pre-sign-in token is worthless after
    assert cookies.csrf_ok(session, cookies.csrf_token(session))
    assert not cookies.csrf_ok(session, before) and not cookies.csrf_ok(session, None)
    sign_out(session)
    assert session.user_id is None and session.dirty


def test_the_fingerprint_follows_the_password() -> None:
    cookies = codec(FrozenClock(START))
    assert cookies.fingerprint(user("hash-1")) == cookies.fingerprint(user("hash-1"))
    assert cookies.fingerprint(user("hash-1")) != cookies.fingerprint(user("hash-2"))
    assert "hash-1" not in cookies.fingerprint(user("hash-1"))


def test_flash_messages_are_signed() -> None:
    cookies = codec(FrozenClock(START))
    assert cookies.load_flash(cookies.dump_flash("Saved", "ok")) == ("Saved", "ok")
    assert cookies.load_flash('["ok", "forged"]') is None


def test_only_local_paths_are_followed_after_sign_in() -> None:
    assert safe_next("/incidents/INC-1?x=1") == "/incidents/INC-1?x=1"
    for bad in (None, "", "https://evil.example", "//evil.example", "/\\evil.example", "javascript:x"):
        assert safe_next(bad) == "/"


def test_durations_read_at_a_glance() -> None:
    assert [duration(s) for s in (5, 95, 900, 7260, 200000)] == ["5s", "1m 35s", "15m", "2h 1m", "2d 7h"]


def cursor(last: int) -> Cursor:
    return Cursor(id_column=None, columns=(), last=last)


def test_the_cursor_remembers_skipped_ids_until_they_commit() -> None:
    found = cursor(10)
    found._advance([11, 14], now=0.0)
    assert found.last == 14 and set(found.gaps) == {12, 13}
    found._advance([13], now=1.0)  # a late commit fills a gap
    assert found.last == 14 and set(found.gaps) == {12}
    found._advance([], now=GAP_PATIENCE + 0.5)  # a rollback never fills it: given up after a while
    assert found.gaps == {}


def test_the_cursor_does_not_track_an_enormous_jump() -> None:
    found = cursor(0)
    found._advance([MAX_GAPS + 50], now=0.0)
    assert found.last == MAX_GAPS + 50 and found.gaps == {}


class Shape(BaseModel):
    title: str = Field(min_length=1)
    count: int


def test_refused_forms_put_each_problem_on_its_field_and_keep_the_values() -> None:
    values = {"title": "", "count": "x", "note": "kept"}
    try:
        Shape.model_validate({"title": "", "count": "x"})
    except ValidationError as error:
        state = refused(values, error)
    assert state.errors["title"] == "is required" and "count" in state.errors
    assert state.value("note") == "kept"
    renamed = refused(
        values, invalid("impact_started_at", "is in the future"), renames={"impact_started_at": "m"}
    )
    assert renamed.errors == {"m": "is in the future"}
    elsewhere = refused(values, invalid("other", "bad"), fields=frozenset({"title"}))
    assert elsewhere.errors == {} and elsewhere.message == "other: bad"
    assert refused(values, Conflict("already done")).message == "already done"
