"""iCalendar (RFC 5545) export of on-call spans and import of overrides, via the ``icalendar`` package.

Pure like the domain: bytes in, bytes out, no clock. Exported events carry UTC times and a UID built from
``uid_prefix`` and the span's start, so re-exporting an unchanged schedule yields the same UIDs and a
subscribed calendar updates events in place. DTSTAMP (required by RFC 5545) is ``stamp`` when given,
otherwise the span's start, which keeps the output byte-for-byte deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event
from icalendar.error import IncompleteComponent, InvalidCalendar

from warroom.oncall.domain import Override, Span

PRODID = "-//warroom//on-call schedule//EN"


def _uid(uid_prefix: str, span: Span) -> str:
    return f"{uid_prefix}-{span.start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _event(span: Span, uid_prefix: str, stamp: datetime | None) -> Event:
    event = Event()
    event.add("uid", _uid(uid_prefix, span))
    event.add("dtstamp", (stamp or span.start).astimezone(UTC))
    event.add("dtstart", span.start.astimezone(UTC))
    event.add("dtend", span.end.astimezone(UTC))
    event.add("summary", f"On call: {span.user}")
    event.add("description", f"Source: {span.source}")
    event.add("transp", "TRANSPARENT")  # being on call should not mark anyone busy
    return event


def schedule_ical(
    spans: Iterable[Span], name: str, uid_prefix: str, *, stamp: datetime | None = None
) -> bytes:
    """A VCALENDAR with one VEVENT per span that has a user (gaps are left out)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for span in spans:
        if span.user is not None:
            calendar.add_component(_event(span, uid_prefix, stamp))
    data: bytes = calendar.to_ical()
    return data


def user_ical(
    spans: Iterable[Span], user: str, name: str, uid_prefix: str, *, stamp: datetime | None = None
) -> bytes:
    """``schedule_ical`` restricted to the spans where ``user`` is on call (e.g. from ``user_shifts``)."""
    return schedule_ical((span for span in spans if span.user == user), name, uid_prefix, stamp=stamp)


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An event time as aware UTC; floating times and all-day dates are read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _candidates(event: Event) -> list[str]:
    """What may name the covering user: the summary first, then each attendee's address and name."""
    found = [str(event.get("summary", "")).strip()]
    for attendee in event.attendees:
        found.append(attendee.email)
        if attendee.name:
            found.append(str(attendee.name))
    return [candidate for candidate in found if candidate]


def _label(event: Event) -> str:
    summary = str(event.get("summary", "")).strip() or "(no summary)"
    start = event.get("dtstart")
    when = start.dt.isoformat() if start is not None else "no start"
    return f"{summary!r} at {when}"


def _override_from(event: Event, user_for: Callable[[str], str | None], zone: ZoneInfo) -> Override | str:
    """The override an event describes, or why it was skipped."""
    label = _label(event)
    if str(event.get("status", "")).upper() == "CANCELLED":
        return f"{label}: cancelled"
    if "RRULE" in event or "RDATE" in event:
        return f"{label}: recurring events are not imported; add each cover separately"
    try:
        start, end = _instant(event.start, zone), _instant(event.end, zone)
    except (IncompleteComponent, InvalidCalendar) as error:
        return f"{label}: {error}"
    if end <= start:
        return f"{label}: it ends before it starts"
    user = next((u for u in map(user_for, _candidates(event)) if u is not None), None)
    if user is None:
        return f"{label}: no user matches its summary or attendees"
    return Override(user=user, start=start, end=end)


def parse_overrides(
    ical_bytes: bytes | str, user_for: Callable[[str], str | None], *, default_zone: str = "UTC"
) -> tuple[list[Override], list[str]]:
    """Overrides from an iCalendar file: one per VEVENT whose summary or attendee ``user_for`` maps.

    ``user_for`` is called with the summary, then each attendee's e-mail address and common name, until
    it returns a user. Events it maps to nobody, cancelled and recurring events, and events without
    usable times are skipped; the second list says which and why. Floating times and all-day dates are
    read in ``default_zone``. Raises ValueError when the input is not iCalendar at all.
    """
    try:
        zone = ZoneInfo(default_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {default_zone!r}") from error
    try:
        calendar = Calendar.from_ical(ical_bytes)
    except ValueError as error:
        raise ValueError(f"not a valid iCalendar file: {error}") from error
    overrides: list[Override] = []
    skipped: list[str] = []
    for event in _events(calendar):
        outcome = _override_from(event, user_for, zone)
        if isinstance(outcome, Override):
            overrides.append(outcome)
        else:
            skipped.append(outcome)
    return overrides, skipped


def _events(calendar: Calendar) -> Sequence[Event]:
    return [component for component in calendar.walk("VEVENT") if isinstance(component, Event)]
