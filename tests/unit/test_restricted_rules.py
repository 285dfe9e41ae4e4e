"""The pure parts of restricted incidents: what shared places are, what a page says, what the SOP says."""

from __future__ import annotations

from warroom.chat.domain import RESTRICTED_CHANNEL_TEMPLATE, channel_name, shared_room
from warroom.paging.steps import page_text
from warroom.paging.walks import Paged
from warroom.procedure.loader import load_default_procedure
from warroom.procedure.render import render_markdown


def test_shared_rooms_are_the_broadcast_channel_and_the_webhooks() -> None:
    assert shared_room(provider="slack", purpose="broadcast")
    assert shared_room(provider="teams", purpose="war_room")
    assert shared_room(provider="mattermost", purpose="war_room")
    assert not shared_room(provider="slack", purpose="war_room")


def test_a_restricted_channel_name_says_nothing_of_the_title() -> None:
    name = channel_name(
        RESTRICTED_CHANNEL_TEMPLATE, number=7, title="attacker has domain admin", severity="P1"
    )
    assert name == "sec-7"
    assert (
        channel_name(RESTRICTED_CHANNEL_TEMPLATE, number=7, title="x", severity="P1", attempt=2) == "sec-7-2"
    )


def test_a_page_for_an_alert_on_a_restricted_incident_names_only_the_incident() -> None:
    alert = Paged(3, "critical", "mimikatz on dc01", "lsass read", "edr-1", 7, True)
    subject, body = page_text(alert)
    assert subject == "[CRITICAL] restricted incident INC-7"
    assert "mimikatz" not in body and "lsass" not in body and "edr-1" not in body
    open_subject, open_body = page_text(alert._replace(restricted=False))
    assert open_subject == "[CRITICAL] mimikatz on dc01" and "lsass read" in open_body


def test_the_sop_says_who_sees_a_restricted_type() -> None:
    loaded = load_default_procedure()
    assert loaded.procedure.security_team == "security"
    text = render_markdown(loaded)
    assert "the 'security' team" in text.split("### Security incident", 1)[1]
