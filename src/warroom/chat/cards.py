"""The summary card of an incident in each tool's format: Slack Block Kit, a Teams Adaptive Card, a
Mattermost (Slack-compatible) attachment. Pure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from warroom.chat.domain import RoomView

ACK_ACTION = "warroom_ack"
RESOLVE_ACTION = "warroom_resolve"
OPEN_ACTION = "warroom_open"
COLOURS = {"P1": "#d1242f", "P2": "#e16f24", "P3": "#d4a72c"}


def _facts(view: RoomView) -> list[tuple[str, str]]:
    return [
        ("Severity", f"{view.severity} {view.severity_name}"),
        ("Phase", view.phase),
        ("Commander", view.commander or "no commander yet"),
    ]


def card_text(view: RoomView) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    return _text(view, _facts(view))


def _text(view: RoomView, facts: list[tuple[str, str]]) -> str:
    listed = ", ".join(f"{name}: {value}" for name, value in facts)
    return f"{view.ref}: {view.title} ({listed}) {view.url}"


def status_label(view: RoomView) -> str:
    if view.status == "active":
        return "Active, acknowledged" if view.acknowledged else "Active, not acknowledged"
    return view.status.capitalize()


def _slack_facts(view: RoomView) -> list[tuple[str, str]]:
    # Slack's card is edited in place, so it can also say where the incident stands.
    return [*_facts(view), ("Status", status_label(view))]


@dataclass(frozen=True)
class SlackCard:
    text: str  # the fallback; escape it for Slack before sending
    blocks: list[dict[str, Any]]

    @property
    def digest(self) -> str:
        """What the card shows, in 64 hex digits: equal digests need no chat.update."""
        shown = json.dumps({"text": self.text, "blocks": self.blocks}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(shown.encode()).hexdigest()


def slack_card(view: RoomView, *, responders: bool = True) -> SlackCard:
    """The war room's card (`responders`), or the broadcast channel's, which stakeholders read: it has
    only the Open button, since acting on the incident is the responders' work."""
    return SlackCard(_text(view, _slack_facts(view)), slack_blocks(view, responders=responders))


def slack_blocks(view: RoomView, *, responders: bool = True) -> list[dict[str, Any]]:
    buttons = _slack_buttons(view) if responders else _slack_buttons(view)[-1:]
    return [
        {"type": "header", "text": {"type": "plain_text", "text": f"{view.ref}: {view.title}"[:150]}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{n}*\n{v}"} for n, v in _slack_facts(view)],
        },
        {"type": "actions", "elements": buttons},
    ]


def _slack_buttons(view: RoomView) -> list[dict[str, Any]]:
    """Acknowledge while nobody has; Resolve while the incident is active; Open always. A resolved or
    closed incident's card keeps only Open (reopening brings Resolve back)."""
    button = {"type": "button", "value": view.ref}
    found: list[dict[str, Any]] = []
    if view.status == "active" and not view.acknowledged:
        ack = {"type": "plain_text", "text": "Acknowledge"}
        found.append({**button, "action_id": ACK_ACTION, "text": ack})
    if view.status == "active":
        found.append(
            {
                **button,
                "action_id": RESOLVE_ACTION,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Resolve"},
                "confirm": {
                    "title": {"type": "plain_text", "text": f"Resolve {view.ref}?"},
                    "text": {"type": "plain_text", "text": "It moves to the resolving phase."},
                    "confirm": {"type": "plain_text", "text": "Resolve"},
                    "deny": {"type": "plain_text", "text": "Not yet"},
                },
            }
        )
    found.append(
        {
            "type": "button",
            "action_id": OPEN_ACTION,
            "url": view.url,
            "text": {"type": "plain_text", "text": "Open in warroom"},
        }
    )
    return found


def teams_message(view: RoomView, line: str | None = None) -> dict[str, Any]:
    """A message for a Teams incoming webhook or Workflows URL: one Adaptive Card. The summary card when
    `line` is None, else the line under the incident's title."""
    title = {"type": "TextBlock", "text": f"{view.ref}: {view.title}", "weight": "Bolder", "wrap": True}
    if line is None:
        body: list[dict[str, Any]] = [
            {**title, "size": "Medium"},
            {"type": "FactSet", "facts": [{"title": n, "value": v} for n, v in _facts(view)]},
        ]
    else:
        body = [title, {"type": "TextBlock", "text": line, "wrap": True}]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Open in warroom", "url": view.url}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def mattermost_message(view: RoomView, line: str | None = None) -> dict[str, Any]:
    """A Mattermost incoming-webhook post (Slack-compatible attachments)."""
    if line is not None:
        return {"username": "warroom", "text": f"[{view.ref}]({view.url}) {view.title}: {line}"}
    attachment = {
        "fallback": card_text(view),
        "color": COLOURS.get(view.severity, "#8c959f"),
        "title": f"{view.ref}: {view.title}",
        "title_link": view.url,
        "fields": [{"short": True, "title": name, "value": value} for name, value in _facts(view)],
    }
    return {"username": "warroom", "text": f"Incident declared: {view.ref}", "attachments": [attachment]}
