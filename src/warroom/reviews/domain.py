"""Review rules: impact and cost from milestones, the status machine, the curated timeline, Markdown. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from warroom.errors import Conflict, FieldProblem, IllegalTransition, invalid

NEXT_STATUS = {"draft": ("in_review",), "in_review": ("draft", "published"), "published": ()}


def impact_minutes(
    *,
    impact_started: datetime | None,
    detected: datetime | None,
    mitigated: datetime | None,
    resolved: datetime | None,
) -> float | None:
    """From the start of impact (else detection) to recovery (mitigated, else resolved)."""
    start, end = impact_started or detected, mitigated or resolved
    if start is None or end is None:
        return None
    return round((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 60, 1)


def cost_estimate(minutes: float | None, costs_per_minute: Sequence[float | None]) -> float | None:
    """Minutes times the summed cost per minute of the affected services that have one, else None."""
    known = [c for c in costs_per_minute if c is not None]
    if minutes is None or not known:
        return None
    return round(minutes * sum(known), 2)


def checked_answers(questions: Sequence[str], answers: dict[str, str]) -> dict[str, str]:
    """Answers keyed by the template's own questions; an unknown question is refused, blanks are dropped."""
    unknown = [q for q in answers if q not in questions]
    if unknown:
        raise invalid("answers", f"not a question of this review's template: {unknown[0]!r}")
    return {q: a.strip() for q, a in answers.items() if a.strip()}


def check_editable(status: str) -> None:
    if status == "published":
        raise Conflict("the review is published and read-only (action items can still change)")


def check_status_change(*, current: str, target: str, reviewers: int) -> None:
    if target not in NEXT_STATUS:
        raise invalid("status", f"unknown status {target!r}; statuses: {', '.join(NEXT_STATUS)}")
    if target not in NEXT_STATUS[current]:
        allowed = ", ".join(NEXT_STATUS[current]) or "none (published is final)"
        raise IllegalTransition(
            f"a {current} review cannot become {target}; allowed: {allowed}",
            [FieldProblem("status", f"allowed: {allowed}")],
        )
    if target == "in_review" and reviewers == 0:
        raise IllegalTransition(
            "name at least one reviewer before asking for review",
            [FieldProblem("status", "no reviewers named")],
        )


@dataclass(frozen=True)
class TimelineLine:
    """One line of the review's timeline: an event with its curation, or a note added in the review."""

    seq: int | None  # the event's number on the incident timeline; None for a note added in the review
    at: datetime
    original_at: datetime | None  # set when a responder corrected the time
    kind: str
    actor: str
    summary: str
    note: str
    highlighted: bool
    hidden: bool


def ordered(lines: Sequence[TimelineLine], *, include_hidden: bool) -> list[TimelineLine]:
    shown = [line for line in lines if include_hidden or not line.hidden]
    return sorted(shown, key=lambda line: (line.at, line.seq or 0))


def _section(title: str, body: str) -> list[str]:
    return [f"## {title}", "", body.strip() or "_Not written yet._", ""]


def markdown(
    *,
    title: str,
    facts: Sequence[tuple[str, str]],
    sections: Sequence[tuple[str, str]],
    lists: Sequence[tuple[str, Sequence[str]]],
    timeline: Sequence[TimelineLine],
    actions: Sequence[Sequence[str]],
) -> str:
    """The whole review as Markdown: facts, timeline, the written sections, lists, and action items."""
    out = [f"# {title}", ""]
    out += [f"- **{name}:** {value}" for name, value in facts] + [""]
    out += ["## Timeline", "", "| Time (UTC) | What | Who | Note |", "|---|---|---|---|"]
    for line in timeline:
        when = line.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        if line.original_at is not None:
            when += f" (recorded {line.original_at.astimezone(UTC).strftime('%H:%M')})"
        what = f"**{line.summary}**" if line.highlighted else line.summary
        out.append(f"| {when} | {_cell(what)} | {_cell(line.actor)} | {_cell(line.note)} |")
    out.append("")
    for name, body in sections:
        out += _section(name, body)
    for name, items in lists:
        out += [f"## {name}", ""] + ([f"1. {item}" for item in items] or ["_None listed._"]) + [""]
    out += [
        "## Action items",
        "",
        "| Title | Type | Owner | Due | Status | Tracker |",
        "|---|---|---|---|---|---|",
    ]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in actions] or ["| _none_ | | | | | |"]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
