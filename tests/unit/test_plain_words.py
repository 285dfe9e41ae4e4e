"""Saying what a thing is (issue #19, item 7): the log channel names a page PAGE and a stakeholder update
or test message by its kind; the timeline says what a review edit changed."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from warroom.config import Settings
from warroom.notify.channels import Delivery, deliver


@pytest.mark.parametrize(
    ("key", "event"),
    [
        ("msg:41:2", "PAGE"),
        ("update:7:3", "STAKEHOLDER_UPDATE"),
        ("update-due:4:2026-03-02T10:00:00+00:00:9", "UPDATE_REMINDER"),
        ("test:5:1764892800.000000", "TEST_MESSAGE"),
        ("reminder:3:2026-03-02:7", "ACTION_ITEM_REMINDER"),
        ("drill-due:2:2026-W10:4", "DRILL_REMINDER"),
    ],
)
async def test_each_message_is_logged_as_what_it_is(key: str, event: str) -> None:
    delivery = Delivery("log", "cto@example.org", "Checkout down", "body", key, "", "")
    with capture_logs() as logged:
        await deliver(delivery, Settings())
    assert [(line["event"], line["to"]) for line in logged] == [(event, "cto@example.org")]


def test_review_edits_say_what_changed() -> None:
    from datetime import UTC, datetime

    from warroom.procedure.loader import load_default_procedure
    from warroom.timeline.describe import describe, names_of
    from warroom.timeline.models import TimelineEvent

    names = names_of(load_default_procedure().procedure)
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    edited = TimelineEvent(
        seq=1, at=at, actor="a", kind="review_edited", data={"fields": ["five_whys", "trigger"]}
    )
    assert describe(edited, names).summary == "Review edited: five whys, trigger"
    moved = TimelineEvent(
        seq=2, at=at, actor="a", kind="review_status_changed", data={"old": "draft", "new": "in_review"}
    )
    assert describe(moved, names).summary == "Review draft → in review"


def test_money_has_a_currency_the_procedure_names() -> None:
    from pydantic import ValidationError

    from warroom.procedure.loader import load_default_procedure
    from warroom.procedure.schemas import Procedure

    procedure = load_default_procedure().procedure
    assert procedure.currency == "USD"
    with pytest.raises(ValidationError, match="currency"):
        Procedure.model_validate({**procedure.model_dump(), "currency": "dollars"})
