"""iCalendar export of a final schedule (read back with the icalendar parser) and import of overrides."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from icalendar import Calendar

from warroom.oncall import Layer, Override, Restriction, Rotation, Schedule, final_schedule
from warroom.oncall.domain import Span
from warroom.oncall.ical import parse_overrides, schedule_ical, user_ical


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


START, END = utc(2026, 3, 6), utc(2026, 3, 11)
DIRECTORY = {"alice": "alice", "alice@example.com": "alice", "bob@example.com": "bob", "Carol Jones": "carol"}


def schedule() -> Schedule:
    """Chicago 09-17 except Saturdays, daily rotation, one override; spans the 03-08 DST change."""
    hours = Restriction(days=(0, 1, 2, 3, 4, 6), start=time(9), end=time(17))
    rotation = Rotation(("alice", "bob"), utc(2026, 3, 2, 9), 1, "days", "America/Chicago", (hours,))
    cover = Override("carol", utc(2026, 3, 9, 18), utc(2026, 3, 9, 20))
    return Schedule((Layer("primary", 0, rotation),), (cover,))


def events(data: bytes) -> list[tuple[str, datetime, datetime, str]]:
    calendar = Calendar.from_ical(data)
    return [
        (str(event["summary"]), event.start, event.end, str(event["uid"]))  # type: ignore[misc]
        for event in calendar.walk("VEVENT")
    ]


def test_export_round_trip_keeps_events_times_and_summaries() -> None:
    spans = final_schedule(schedule(), START, END)
    data = schedule_ical(spans, "Primary on call", "warroom-primary")
    staffed = [span for span in spans if span.user is not None]
    assert len(staffed) < len(spans)  # there are gaps, and they are not exported
    found = events(data)
    assert [(summary, start, end) for summary, start, end, _ in found] == [
        (f"On call: {span.user}", span.start, span.end) for span in staffed
    ]
    assert all(start.tzinfo is not None and start.utcoffset() == timedelta(0) for _, start, _, _ in found)
    assert b"DTSTART:20260309T140000Z" in data  # 09:00 CDT after the change, written in UTC
    assert len({uid for *_, uid in found}) == len(found)
    assert found[0][3] == f"warroom-primary-{staffed[0].start:%Y%m%dT%H%M%SZ}"
    calendar = Calendar.from_ical(data)
    assert str(calendar["x-wr-calname"]) == "Primary on call"
    assert str(calendar["version"]) == "2.0"


def test_export_is_deterministic_and_uids_are_stable() -> None:
    spans = final_schedule(schedule(), START, END)
    assert schedule_ical(spans, "x", "p") == schedule_ical(list(spans), "x", "p")
    later = final_schedule(schedule(), START + timedelta(days=1), END)
    shared = {uid for *_, uid in events(schedule_ical(spans, "x", "p"))[2:]}
    assert shared <= {uid for *_, uid in events(schedule_ical(later, "x", "p"))}


def test_dtstamp_is_the_given_stamp() -> None:
    span = Span(START, START + timedelta(hours=1), "alice", "primary")
    stamp = utc(2026, 1, 1, 12)
    (event,) = Calendar.from_ical(schedule_ical([span], "x", "p", stamp=stamp)).walk("VEVENT")
    assert event.decoded("dtstamp") == stamp
    (event,) = Calendar.from_ical(schedule_ical([span], "x", "p")).walk("VEVENT")
    assert event.decoded("dtstamp") == START


def test_user_ical_has_only_that_users_shifts() -> None:
    spans = final_schedule(schedule(), START, END)
    found = events(user_ical(spans, "carol", "Carol", "carol"))
    assert [(summary, start, end) for summary, start, end, _ in found] == [
        ("On call: carol", utc(2026, 3, 9, 18), utc(2026, 3, 9, 20))
    ]
    assert events(user_ical(spans, "nobody", "x", "p")) == []


def test_exported_calendar_imports_back_as_overrides() -> None:
    spans = final_schedule(schedule(), START, END)
    overrides, skipped = parse_overrides(
        schedule_ical(spans, "x", "p"), lambda text: text.removeprefix("On call: ") or None
    )
    assert skipped == []
    assert [(o.user, o.start, o.end) for o in overrides] == [
        (span.user, span.start, span.end) for span in spans if span.user is not None
    ]


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
SUMMARY:alice
DTSTART;TZID=Europe/Berlin:20260329T010000
DTEND;TZID=Europe/Berlin:20260329T040000
END:VEVENT
BEGIN:VEVENT
UID:2
SUMMARY:Cover for the conference
ATTENDEE;CN=Bob:mailto:bob@example.com
DTSTART:20260401T080000Z
DURATION:PT4H
END:VEVENT
BEGIN:VEVENT
UID:3
SUMMARY:Holiday cover
ATTENDEE;CN=Carol Jones:mailto:carol@elsewhere.example
DTSTART;VALUE=DATE:20260402
END:VEVENT
BEGIN:VEVENT
UID:4
SUMMARY:Dentist
DTSTART:20260403T080000Z
DTEND:20260403T090000Z
END:VEVENT
BEGIN:VEVENT
UID:5
SUMMARY:alice
STATUS:CANCELLED
DTSTART:20260404T080000Z
DTEND:20260404T090000Z
END:VEVENT
BEGIN:VEVENT
UID:6
SUMMARY:alice
RRULE:FREQ=WEEKLY
DTSTART:20260405T080000Z
DTEND:20260405T090000Z
END:VEVENT
BEGIN:VEVENT
UID:7
SUMMARY:alice
END:VEVENT
BEGIN:VEVENT
UID:8
SUMMARY:alice
DTSTART:20260406T100000
DTEND:20260406T090000
END:VEVENT
END:VCALENDAR
""".replace(b"\n", b"\r\n")


def test_import_maps_summary_or_attendee_to_a_user_and_reports_the_rest() -> None:
    overrides, skipped = parse_overrides(ICS, DIRECTORY.get, default_zone="America/Chicago")
    assert overrides == [
        Override("alice", utc(2026, 3, 29, 0), utc(2026, 3, 29, 2)),  # DST day
        Override("bob", utc(2026, 4, 1, 8), utc(2026, 4, 1, 12)),
        Override("carol", utc(2026, 4, 2, 5), utc(2026, 4, 3, 5)),  # all day
    ]
    assert len(skipped) == 5
    assert "'Dentist'" in skipped[0] and "no user matches" in skipped[0]
    assert "cancelled" in skipped[1]
    assert "recurring" in skipped[2]
    assert "no start" in skipped[3]
    assert "ends before it starts" in skipped[4]


def test_imported_overrides_win_in_the_final_schedule() -> None:
    overrides, _ = parse_overrides(ICS, DIRECTORY.get)
    base = Layer("base", 0, Rotation(("dave",), utc(2026, 3, 1), 1, "weeks", "UTC"))
    window = (utc(2026, 4, 1), utc(2026, 4, 2))
    spans = final_schedule(Schedule((base,), tuple(overrides)), *window)
    assert [(span.user, span.source, span.start.hour, span.end.hour) for span in spans] == [
        ("dave", "base", 0, 8),
        ("bob", "override", 8, 12),
        ("dave", "base", 12, 0),
    ]


def test_the_callback_sees_summary_then_attendee_address_then_name() -> None:
    seen: list[str] = []
    parse_overrides(ICS, lambda text: seen.append(text) and None)
    assert seen[:3] == ["alice", "Cover for the conference", "bob@example.com"]
    assert "Bob" in seen
    assert "Carol Jones" in seen


@pytest.mark.parametrize("data", [b"not a calendar", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"])
def test_garbage_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="iCalendar"):
        parse_overrides(data, DIRECTORY.get)


def test_unknown_default_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_overrides(ICS, DIRECTORY.get, default_zone="Nowhere/Special")
