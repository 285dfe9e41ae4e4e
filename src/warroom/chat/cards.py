"""The summary card of an incident in each tool's format: Slack Block Kit, a Teams Adaptive Card, a
Mattermost (Slack-compatible) attachment. Pure."""

from __future__ import annotations

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
    facts = ", ".join(f"{name}: {value}" for name, value in _facts(view))
    return f"{view.ref}: {view.title} ({facts}) {view.url}"


def slack_blocks(view: RoomView) -> list[dict[str, Any]]:
    button = {"type": "button", "value": view.ref}
    return [
        {"type": "header", "text": {"type": "plain_text", "text": f"{view.ref}: {view.title}"[:150]}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in _facts(view)],
        },
        {
            "type": "actions",
            "elements": [
                {**button, "action_id": ACK_ACTION, "text": {"type": "plain_text", "text": "Acknowledge"}},
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
                },
                {
                    "type": "button",
                    "action_id": OPEN_ACTION,
                    "url": view.url,
                    "text": {"type": "plain_text", "text": "Open in warroom"},
                },
            ],
        },
    ]


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
