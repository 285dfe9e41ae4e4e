"""`warroom playbook`, `warroom tick` and `warroom step start|waive|approve` (operator, through the API): the
guided phase and the playbook's steps from a terminal."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from warroom.cli.api_client import call, when
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

step_app = typer.Typer(help="Playbook steps: start one (and its action), waive one, approve an action.",
                       no_args_is_help=True)  # fmt: skip
Ref = Annotated[str, typer.Argument(help="The incident, e.g. INC-42.")]


def _step_line(step: dict[str, Any]) -> str:
    box = "x" if step["done"] else ("~" if step["waived_at"] else " ")
    kind = "GATE" if step["gate"] else ("req" if step["mandatory"] else "")
    due = f" due {when(step['due_at'])}" if step["due_at"] and not step["done"] else ""
    return f"[{box}] {step['id']:>4} {step['phase'] or '-':<12} {kind:<4} {step['title']}{due}"


def playbook(ref: Ref, as_json: JsonOption = False) -> None:
    """The current phase's owner and exit checklist, open gates, the playbook's steps, regulatory clocks."""
    guided = call("GET", f"/api/v1/incidents/{ref}/playbook")
    if as_json:
        return print_json(guided)
    phase = guided["phase"]
    owner = phase["responsible"]
    who = (
        f"{owner['name']} ({', '.join(p['name'] for p in owner['people']) or 'nobody yet'})" if owner else "-"
    )
    out.print(f"{ref} {phase['name']}: responsible {who}", highlight=False)
    for c in phase["checklist"]:
        out.print(f"  [{'x' if c['ticked'] else ' '}] {c['index'] + 1}. {c['text']}", highlight=False)
    if phase["open_gates"]:
        out.print(f"  held by step(s) {', '.join(str(i) for i in phase['open_gates'])}", highlight=False)
    if guided["playbook"]:
        out.print(f"Playbook {guided['name']}:", highlight=False)
    for step in guided["steps"]:
        out.print("  " + _step_line(step), highlight=False, markup=False)
    for d in guided["deadlines"]:
        out.print(f"Deadline {d['name']}: due {when(d['due_at'])} ({d['state']})", highlight=False)
    return None


def tick(
    ref: Ref,
    number: Annotated[
        int, typer.Argument(help="The exit criterion's number, as `warroom playbook` lists it.")
    ],
    phase: Annotated[str | None, typer.Option(help="Another phase than the current one.")] = None,
    untick: Annotated[bool, typer.Option("--untick", help="Take the tick back.")] = False,
) -> None:
    """Tick one exit criterion of the current phase (who and when go on the timeline)."""
    current = phase or call("GET", f"/api/v1/incidents/{ref}")["phase"]
    body = {"phase": current, "criterion": number - 1, "done": not untick}
    guided = call("POST", f"/api/v1/incidents/{ref}/checklist", json=body)
    left = sum(not c["ticked"] for c in guided["phase"]["checklist"])
    out.print(
        f"{ref}: {'unticked' if untick else 'ticked'} {current} #{number}; {left} left", highlight=False
    )


@step_app.command("start")
def step_start(
    ref: Ref,
    task: Annotated[int, typer.Argument(help="The step's task number.")],
    target: Annotated[str, typer.Option(help="What its action acts on: a host, an account.")] = "",
) -> None:
    """Start a step; a pre-approved action runs now, another waits for the commander."""
    answer = call("POST", f"/api/v1/incidents/{ref}/tasks/{task}/start", json={"target": target})
    run = answer["action_run"]
    said = f"; action {run['name']} {run['state'].replace('_', ' ')} (run {run['id']})" if run else ""
    out.print(f"{ref}: started {answer['task']['title']}{said}", highlight=False)


@step_app.command("waive")
def step_waive(
    ref: Ref,
    task: Annotated[int, typer.Argument(help="The step's task number.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it will not be done.")],
) -> None:
    """The commander lets the incident move on without a step, saying why."""
    done = call("POST", f"/api/v1/incidents/{ref}/tasks/{task}/waive", json={"reason": reason})
    out.print(f"{ref}: waived {done['title']}", highlight=False)


@step_app.command("approve")
def step_approve(ref: Ref, run: Annotated[int, typer.Argument(help="The action run's number.")]) -> None:
    """The commander approves an action that is not pre-approved; it runs now."""
    approved = call("POST", f"/api/v1/incidents/{ref}/actions/{run}/approve")
    out.print(
        f"{ref}: approved {approved['name']} (run {approved['id']}, {approved['state']})", highlight=False
    )


def register(app: typer.Typer) -> None:
    for command in (playbook, tick):
        app.command(rich_help_panel=OPERATOR_PANEL)(command)
    app.add_typer(step_app, name="step", rich_help_panel=OPERATOR_PANEL)
