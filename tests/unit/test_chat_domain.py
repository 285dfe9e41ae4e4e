"""Chat rules: channel names within Slack's rules, the command grammar, what each room is shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from warroom.chat.domain import channel_name, find_role, message_time, mirrored, parse_command
from warroom.config import Settings

TEMPLATE = Settings().slack_channel_template


def test_channel_names_follow_slacks_rules() -> None:
    assert channel_name(TEMPLATE, number=42, title="Checkout down", severity="P1") == "inc-42-checkout-down"
    assert (
        channel_name(TEMPLATE, number=7, title="Zahlung fällt aus!!  (EU)", severity="P2")
        == "inc-7-zahlung-fallt-aus-eu"
    )
    long = channel_name(TEMPLATE, number=123456, title="word " * 40, severity="P1", attempt=3)
    assert len(long) == 80 and long.endswith("-wo-3") and re.fullmatch(r"[a-z0-9_-]+", long)
    assert channel_name(TEMPLATE, number=9, title="!!!", severity="P1") == "inc-9"
    assert channel_name("{severity}_Inc_{number}", number=5, title="x", severity="P1") == "p1_inc_5"
    with pytest.raises(ValidationError, match=r"\{number\}, \{slug\} and \{severity\}"):
        Settings(slack_channel_template="inc-{id}")


def test_commands_take_an_optional_incident_then_their_words() -> None:
    assert parse_command("").name == parse_command("help").name == "help"
    ack = parse_command("ACK inc-42")
    assert (ack.name, ack.ref, ack.args) == ("ack", "INC-42", ())
    declare = parse_command("declare P1 42 checkouts failing")  # a bare number is not an incident
    assert (declare.name, declare.ref, declare.rest) == ("declare", None, "P1 42 checkouts failing")
    assert parse_command("sev INC-3 P2 spreading").args == ("P2", "spreading")
    assert parse_command("dance").name == ""


def test_roles_by_id_name_or_a_word_only_one_has() -> None:
    ids = ["incident_commander", "communications_lead", "technical_lead"]
    names = {"incident_commander": "Incident commander", "technical_lead": "Technical lead"}
    assert find_role(ids, names, "commander") == "incident_commander"
    assert find_role(ids, names, "Technical_Lead") == "technical_lead"
    assert find_role(ids, names, "lead") is None  # two leads: ambiguous


def test_message_ts_is_the_original_time() -> None:
    assert message_time("1772445180.000100") == datetime(2026, 3, 2, 9, 53, 0, 100, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a Slack message ts"):
        message_time("yesterday")


def test_internal_notes_and_roles_stay_out_of_shared_rooms() -> None:
    assert mirrored("note", internal=True) and not mirrored("note", internal=False)
    assert mirrored("role_assigned", internal=True) and not mirrored("role_assigned", internal=False)
    assert mirrored("stakeholder_update", internal=False) and mirrored("resolved", internal=False)
    assert not mirrored("chat_message", internal=True)  # it came from the channel
