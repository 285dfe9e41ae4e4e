"""Chat rules: channel names, topics, what is mirrored where, and the chat command grammar. Pure: no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from warroom.incidents.domain import REF_PATTERN

SLACK_NAME_MAX = 80  # Slack's limit for a channel name
SLACK_TOPIC_MAX = 250
# Kinds posted to every room, and those only internal rooms (the incident's own channel) get: internal notes
# and who holds which role are not for stakeholders.
PUBLIC_KINDS = frozenset({"severity_changed", "phase_changed", "stakeholder_update", "resolved", "reopened"})
INTERNAL_KINDS = PUBLIC_KINDS | {"role_assigned", "role_unassigned", "note", "acknowledged"}
# Changes that alter the channel topic (severity / phase / commander).
TOPIC_KINDS = frozenset({"severity_changed", "phase_changed", "role_assigned", "role_unassigned"})
COMMANDER_ROLE = "incident_commander"


def slugify(text: str) -> str:
    """ASCII, lower case, words joined by '-': 'Zahlung fällt aus!' -> 'zahlung-fallt-aus'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def channel_name(template: str, *, number: int, title: str, severity: str, attempt: int = 1) -> str:
    """A Slack channel name from the template: lower case letters, digits, '-' and '_', at most 80
    characters; the `attempt`-th try after a name was taken ends in '-<attempt>'."""
    raw = template.format(number=number, slug=slugify(title), severity=severity.lower())
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]+", "-", raw.lower())).strip("-_")
    suffix = f"-{attempt}" if attempt > 1 else ""
    name = name[: SLACK_NAME_MAX - len(suffix)].rstrip("-_") or f"inc-{number}"
    return name + suffix


RESTRICTED_CHANNEL_TEMPLATE = "sec-{number}"  # a restricted incident's private channel says nothing of it


def shared_room(*, provider: str, purpose: str) -> bool:
    """A room many people read regardless of the incident: the broadcast channel and the Teams and
    Mattermost webhooks (one channel for every incident). A restricted incident posts nothing there."""
    return purpose == "broadcast" or provider != "slack"


@dataclass(frozen=True)
class RoomView:
    """What a card and a topic show of an incident."""

    ref: str
    title: str
    severity: str
    severity_name: str
    phase: str
    status: str
    commander: str | None
    url: str
    acknowledged: bool = False


def topic(view: RoomView) -> str:
    commander = view.commander or "no commander yet"
    text = f"{view.severity} {view.severity_name} | {view.phase} | Commander: {commander}"
    return text[:SLACK_TOPIC_MAX]


def mirrored(kind: str, *, internal: bool) -> bool:
    return kind in (INTERNAL_KINDS if internal else PUBLIC_KINDS)


def message_time(ts: str) -> datetime:
    """A Slack message ts ('1767261600.000200', seconds since the epoch) as an aware UTC time."""
    try:
        seconds = Decimal(ts)
    except InvalidOperation:
        raise ValueError(f"not a Slack message ts: {ts!r}") from None
    return datetime.fromtimestamp(float(seconds), UTC)


def reaction_name(setting: str) -> str:
    """':pushpin:' and 'pushpin' both name Slack's reaction 'pushpin'."""
    return setting.strip().strip(":")


# --- chat commands --------------------------------------------------------------------------------------

SUBCOMMANDS = {
    "help": "help",
    "declare": "declare",
    "ack": "ack",
    "acknowledge": "ack",
    "severity": "severity",
    "sev": "severity",
    "role": "role",
    "update": "update",
    "resolve": "resolve",
    "page": "page",
    "escalate": "escalate",
}
HELP = """\
/warroom declare [P1..P4] <title>     declare an incident (the procedure's first severity if left out)
/warroom ack [INC-n]                  acknowledge
/warroom severity [INC-n] <P2> <why>  change the severity
/warroom role [INC-n] <role> [me|@someone|email]   take a role, or give it to someone
/warroom update [INC-n] <text>        post a stakeholder update
/warroom resolve [INC-n] [why]        resolve
/warroom page [INC-n] <@someone|schedule:slug|team:slug|service:slug> <why>   page someone into it
/warroom escalate [INC-n] <why>       page its incident commander
Inside an incident's channel the incident is implied; elsewhere name it (INC-42)."""


@dataclass(frozen=True)
class ChatCommand:
    name: str  # a SUBCOMMANDS value, or "" for an unknown word
    word: str  # what was typed
    ref: str | None  # INC-n when given
    args: tuple[str, ...]

    @property
    def rest(self) -> str:
        return " ".join(self.args)


def parse_command(text: str) -> ChatCommand:
    """`ack INC-4`, `severity P2 spreading to EU`, `role commander @alice` ... An INC-n may come right
    after the subcommand; a bare number is not taken for one (it may be the title of a declaration)."""
    words = text.split()
    if not words:
        return ChatCommand("help", "", None, ())
    word, args = words[0].lower(), words[1:]
    ref = None
    if args and args[0].lower().startswith("inc-") and REF_PATTERN.match(args[0]):
        ref, args = args[0].upper(), args[1:]
    return ChatCommand(SUBCOMMANDS.get(word, ""), word, ref, tuple(args))


def find_role(role_ids: list[str], role_names: Mapping[str, str], word: str) -> str | None:
    """A role by id ('incident_commander'), by name ('Incident commander' as one word or with '_'), or by
    a word only one role contains ('commander'); None when none or several match."""
    wanted = word.strip().lower().replace("-", "_")
    for role_id in role_ids:
        if wanted in (role_id, role_names.get(role_id, "").lower().replace(" ", "_")):
            return role_id
    partial = [role_id for role_id in role_ids if wanted and wanted in role_id]
    return partial[0] if len(partial) == 1 else None


SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


def mentioned_user(word: str) -> str | None:
    """The Slack user id in a mention as Slack escapes it (`<@U123|alice>`), else None."""
    match = SLACK_MENTION.match(word.strip())
    return match.group(1) if match else None
