"""The web UI's pure parts: session ids and expiry, sign-in back-off, CSRF tokens, the live feed's id
cursor, refused forms."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field, ValidationError

from tests.conftest import START
from warroom.auth.domain import (
    ACCOUNT_BACKOFF,
    ADDRESS_BACKOFF,
    FORGET_FAILURES_AFTER,
    SESSION_ID_PATTERN,
    account_key,
    blocked_for,
    session_end,
)
from warroom.clock import FrozenClock
from warroom.errors import Conflict, invalid
from warroom.web.forms import refused
from warroom.web.live import GAP_PATIENCE, MAX_GAPS, Cursor
from warroom.web.render import duration, safe_next
from warroom.web.sessions import SessionCodec, WebSession

SECRET = "s" * 40


def codec(clock: FrozenClock) -> SessionCodec:
    return SessionCodec(SECRET, clock, secure=False, max_age_seconds=3600)


def test_the_cookie_is_only_a_random_id_and_anything_else_starts_a_fresh_one() -> None:
    cookies = codec(FrozenClock(START))
    session = WebSession.fresh()
    assert session.dirty and SESSION_ID_PATTERN.match(session.session_id)
    loaded = cookies.load(session.session_id)
    assert loaded.session_id == session.session_id and not loaded.dirty
    for bad in (None, "", "garbage", session.session_id + "x", "a.b.c" * 9):
        fresh = cookies.load(bad)
        assert fresh.dirty and fresh.session_id != bad and SESSION_ID_PATTERN.match(fresh.session_id)


def test_a_renewed_id_makes_the_old_csrf_token_worthless() -> None:
    cookies = codec(FrozenClock(START))
    session = WebSession.fresh()
    before = cookies.csrf_token(session)
    old = session.renew()
    assert old != session.session_id and session.dirty
    assert cookies.csrf_ok(session, cookies.csrf_token(session))
    assert not cookies.csrf_ok(session, before) and not cookies.csrf_ok(session, None)
    assert SessionCodec("other" * 10, FrozenClock(START), secure=False, max_age_seconds=1).csrf_token(
        session
    ) != cookies.csrf_token(session)


def test_a_session_ends_when_idle_or_at_its_absolute_expiry_whichever_is_first() -> None:
    idle = timedelta(hours=12)
    assert session_end(last_seen_at=START, expires_at=START + timedelta(days=7), idle=idle) == START + idle
    late = START + timedelta(days=6, hours=20)
    assert session_end(
        last_seen_at=late, expires_at=START + timedelta(days=7), idle=idle
    ) == START + timedelta(days=7)


def test_the_back_off_is_free_then_doubles_up_to_its_ceiling() -> None:
    waits = [ACCOUNT_BACKOFF.wait_after(n).total_seconds() for n in range(12)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64]
    assert ACCOUNT_BACKOFF.wait_after(10_000) == timedelta(minutes=15)
    assert (
        ADDRESS_BACKOFF.wait_after(19) == timedelta(0) and ADDRESS_BACKOFF.wait_after(20).total_seconds() == 1
    )


def test_a_key_stays_blocked_until_its_wait_is_over_and_a_day_forgets_it() -> None:
    def blocked(failures: int, ago: timedelta) -> float:
        return blocked_for(
            ACCOUNT_BACKOFF, failures=failures, last_failure_at=START - ago, now=START
        ).total_seconds()

    assert blocked(4, timedelta(0)) == 0
    assert blocked(7, timedelta(seconds=1)) == 3
    assert blocked(7, timedelta(seconds=4)) == 0
    assert blocked(100, timedelta(minutes=14)) == 60
    assert blocked(100, FORGET_FAILURES_AFTER) == 0
    assert account_key(" Someone@Example.COM ") == "account:someone@example.com"


def test_flash_messages_are_signed() -> None:
    cookies = codec(FrozenClock(START))
    assert cookies.load_flash(cookies.dump_flash("Saved", "ok")) == ("Saved", "ok")
    assert cookies.load_flash('["ok", "forged"]') is None


def test_only_local_paths_are_followed_after_sign_in() -> None:
    assert safe_next("/incidents/INC-1?x=1") == "/incidents/INC-1?x=1"
    for bad in (None, "", "https://evil.example", "//evil.example", "/\\evil.example", "javascript:x"):
        assert safe_next(bad) == "/"


def test_durations_read_at_a_glance() -> None:
    assert [duration(s) for s in (5, 95, 900, 7260, 200000)] == [
        "5 s",
        "1 min 35 s",
        "15 min",
        "2 h 1 min",
        "2 d 7 h",
    ]


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
