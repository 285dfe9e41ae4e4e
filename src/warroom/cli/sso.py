"""`warroom login --sso SLUG` (the device flow: approve at the identity provider, get an API token) and
`warroom sso providers|add|remove|rules|map|unmap` (admins, through the API)."""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from warroom.cli.api_client import DEFAULT_URL, ApiFailure, call, problem_line
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

sso_app = typer.Typer(help="Single sign-on: providers and the group rules (admins).", no_args_is_help=True)
LOGIN_DEADLINE_SECONDS = 600  # the provider's codes last ten to thirty minutes; ten is plenty for a person


def _anonymous(path: str, body: dict[str, Any]) -> httpx.Response:
    url = os.environ.get("WARROOM_URL", DEFAULT_URL).rstrip("/")
    try:
        with httpx.Client(base_url=url, timeout=30.0) as http:
            answer = http.post(path, json=body)
    except httpx.HTTPError as error:
        raise ApiFailure(f"cannot reach warroom at {url} ({type(error).__name__}: {error})") from None
    if answer.is_error:
        raise ApiFailure(problem_line(answer))
    return answer


def login(
    sso: Annotated[str, typer.Option("--sso", help="The provider's slug (warroom sso providers).")],
) -> None:
    """Sign in through the identity provider from a terminal; prints a new API token for WARROOM_TOKEN."""
    started = _anonymous(f"/auth/sso/{sso}/device", {}).json()
    where = started.get("verification_uri_complete") or started["verification_uri"]
    out.print(f"Open {where} and enter the code {started['user_code']}", highlight=False)
    deadline = time.monotonic() + min(LOGIN_DEADLINE_SECONDS, int(started.get("expires_in", 600)))
    interval = int(started.get("interval", 5))
    while time.monotonic() < deadline:
        answer = _anonymous(f"/auth/sso/{sso}/device/token", {"device_code": started["device_code"]}).json()
        if answer["state"] == "signed_in":
            who = f"{answer['email']} ({answer['role']})"
            out.print(f"signed in as {who}; your token, shown once:", highlight=False)
            sys.stdout.write(f"export WARROOM_TOKEN={answer['token']}\n")  # the line a shell can evaluate
            return
        interval = int(answer.get("interval") or interval)
        time.sleep(interval)
    raise ApiFailure("the code was not approved in time; run warroom login again")


@sso_app.command("providers")
def providers(as_json: JsonOption = False) -> None:
    """The providers people sign in with (from the environment, or added here)."""
    found = call("GET", "/api/v1/sso/providers")
    if as_json:
        print_json(found)
        return
    table = Table("slug", "name", "issuer", "source")
    for p in found:
        table.add_row(p["slug"], p["name"], p["issuer"], p["source"])
    out.print(table)


@sso_app.command("add")
def add(
    slug: Annotated[str, typer.Argument(help="Used in its URLs, e.g. okta.")],
    issuer: Annotated[str, typer.Option(help="The issuer URL, exactly as in its tokens.")],
    client_id: Annotated[str, typer.Option(help="warroom's client id at the provider.")],
    name: Annotated[str, typer.Option(help='Shown as "Sign in with <name>".')],
    groups_claim: Annotated[str, typer.Option(help="The claim holding the person's groups.")] = "groups",
) -> None:
    """Add a provider; the client secret is read from WARROOM_SSO_CLIENT_SECRET (never from argv)."""
    secret = os.environ.get("WARROOM_SSO_CLIENT_SECRET", "")
    if not secret:
        raise ApiFailure("set WARROOM_SSO_CLIENT_SECRET to the client secret first")
    body = {"slug": slug, "name": name, "issuer": issuer, "client_id": client_id, "client_secret": secret,
            "groups_claim": groups_claim}  # fmt: skip
    made = call("POST", "/api/v1/sso/providers", json=body)
    out.print(f"provider {made['slug']} added; people sign in at {made['sign_in_url']}", highlight=False)


@sso_app.command("remove")
def remove(slug: Annotated[str, typer.Argument(help="A provider added here.")]) -> None:
    call("DELETE", f"/api/v1/sso/providers/{slug}")
    out.print(f"provider {slug} removed", highlight=False)


@sso_app.command("rules")
def rules(as_json: JsonOption = False) -> None:
    """Which group gives which role and team; someone in no mapped group has no access."""
    found = call("GET", "/api/v1/sso/rules")
    if as_json:
        print_json(found)
        return
    table = Table("id", "group", "role", "team")
    for rule in found:
        table.add_row(str(rule["id"]), rule["group"], rule["role"], rule["team"] or "-")
    out.print(table)


@sso_app.command("map")
def map_group(
    group: Annotated[str, typer.Argument(help="The group's name, as the provider sends it.")],
    role: Annotated[str, typer.Option(help="admin, responder, viewer or stakeholder.")],
    team: Annotated[str | None, typer.Option(help="A team its members join (slug).")] = None,
) -> None:
    """Map a group to a role (and a team)."""
    made = call("POST", "/api/v1/sso/rules", json={"group": group, "role": role, "team": team})
    joins = f" + team {made['team']}" if made["team"] else ""
    out.print(f"rule {made['id']}: {made['group']} -> {made['role']}{joins}", highlight=False)


@sso_app.command("unmap")
def unmap(rule_id: Annotated[int, typer.Argument(help="The rule's id (warroom sso rules).")]) -> None:
    call("DELETE", f"/api/v1/sso/rules/{rule_id}")
    out.print(f"rule {rule_id} removed", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=OPERATOR_PANEL)(login)
    app.add_typer(sso_app, name="sso", rich_help_panel=OPERATOR_PANEL)
