"""`/warroom ...` from a chat tool, run as the warroom user linked to whoever typed it.

The change happens in the request's own transaction (Slack wants an answer within 3 s); what it causes in
the channels follows through the jobs the timeline observers stage. A refusal (no linked user, a role
without the permission, a rule of the procedure) changes nothing and is answered to the sender alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.chat.domain import HELP, ChatCommand, find_role
from warroom.chat.identity import warroom_user
from warroom.chat.models import ChatUser
from warroom.chat.service import incident_for_channel
from warroom.comms import service as comms
from warroom.context import AppContext
from warroom.errors import DomainError, InvalidInput, NotFound
from warroom.incidents import collaboration, domain, service
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentCreate, IncidentPatch, UpdateCreate
from warroom.incidents.visibility import Viewer, viewer_of
from warroom.paging.requested import KINDS as PAGE_KINDS
from warroom.paging.requested import escalate_to_commander, page_into


@dataclass(frozen=True)
class Reply:
    text: str
    public: bool = False  # shown to the channel, else to the sender only


@dataclass(frozen=True)
class Invocation:
    provider: str
    account: ChatUser
    command: ChatCommand
    channel_id: str | None
    # Emails for the users named in the command (Slack mentions looked up before the transaction).
    named: dict[str, str]


Stage = Callable[[AsyncSession, str], Awaitable[None]]


def instant_reply(command: ChatCommand) -> Reply | None:
    """The answers that need no one looked up: help, and an unknown word."""
    if command.name == "help":
        return Reply(HELP)
    if not command.name:
        return Reply(f"Unknown command {command.word!r}.\n{HELP}")
    return None


async def run_command(context: AppContext, call: Invocation, stage_reply: Stage | None = None) -> Reply:
    """Check who is asking and what they may do, then make the change and commit; `stage_reply` stages
    the answer as a job in the same transaction (buttons answer through a response_url)."""
    async with context.db.write_turn, context.db.write() as session:
        actor = await warroom_user(session, call.account)
        if actor is None:
            who = call.account.email or call.account.name or call.account.external_id
            return Reply(
                f"Your {call.provider} account ({who}) is not linked to a warroom user: "
                "ask an admin to add a warroom user with the same email."
            )
        if not allows(actor.role, Permission.incident_write):
            return Reply(f"Your warroom role ({actor.role}) may not change incidents; nothing was changed.")
        try:
            reply = await _dispatch(session, context, actor, call)
        except DomainError as error:
            await session.rollback()
            return Reply(f"Nothing was changed: {error.detail}")
        except ValidationError as error:
            await session.rollback()
            return Reply(f"Nothing was changed: {error.errors()[0]['msg']}")
        if stage_reply is not None:
            await stage_reply(session, reply.text)
        await session.commit()
    return reply


def _who(actor: User) -> str:
    return f"{actor.name} ({actor.email})"


async def _incident(session: AsyncSession, call: Invocation, viewer: Viewer) -> Incident:
    """The incident the command names, or the channel's: either only if the actor may see it."""
    if call.command.ref:
        return await service.get_incident(
            session=session, ref=call.command.ref, viewer=viewer, for_update=True
        )
    if call.channel_id:
        return await incident_for_channel(
            session=session, provider=call.provider, channel_id=call.channel_id, viewer=viewer
        )
    raise NotFound("name the incident (INC-42)")


async def _dispatch(session: AsyncSession, context: AppContext, actor: User, call: Invocation) -> Reply:
    name = call.command.name
    if name == "declare":
        return await _declare(session, context, actor, call.command)
    incident = await _incident(session, call, viewer_of(actor, context.procedure.procedure))
    ref, now, command = domain.incident_ref(incident.id), context.clock.now(), call.command
    if name == "ack":
        if not await service.acknowledge(session=session, actor=actor, incident=incident, now=now):
            return Reply(f"{ref} was already acknowledged.")
        return Reply(f"{_who(actor)} acknowledged {ref}.", public=True)
    if name == "severity":
        return await _severity(session, context, actor, incident, command)
    if name == "role":
        return await _role(session, context, actor, incident, call)
    if name in ("page", "escalate"):
        return await _page(session, context, actor, incident, call)
    if name == "update":
        if not command.rest:
            raise InvalidInput("write the update after the command: /warroom update Rollback in progress")
        data = UpdateCreate(audience="stakeholder", body=command.rest)
        await comms.post_update(
            session=session, loaded=context.procedure, actor=actor, incident=incident, data=data, now=now,
            base_url=context.settings.resolved_base_url(),
        )  # fmt: skip
        return Reply(f"{_who(actor)} posted a stakeholder update on {ref}: {command.rest}", public=True)
    target = domain.resolution_phase(context.procedure.procedure, current=incident.phase)
    await service.move_phase(session=session, loaded=context.procedure, actor=actor, incident=incident,
                             target=target, reason=command.rest, now=now,
                             review_published=context.review_published)  # fmt: skip
    phase = context.procedure.procedure.phase(incident.phase).name
    return Reply(f"{_who(actor)} resolved {ref} (now {phase}).", public=True)


async def _page(
    session: AsyncSession, context: AppContext, actor: User, incident: Incident, call: Invocation
) -> Reply:
    """`page @alice <why>` (or schedule:, team:, service:) pages into the incident; `escalate <why>` pages its
    commander. Each is a request of its own (paging.requested), on the timeline with the reason."""
    args, ref, now, key = (
        call.command.args,
        domain.incident_ref(incident.id),
        context.clock.now(),
        uuid.uuid4().hex,
    )
    if call.command.name == "escalate":
        reason = call.command.rest
        label = await escalate_to_commander(session=session, incident=incident, actor=actor, reason=reason,
                                            key=key, now=now)  # fmt: skip
        return Reply(f"{_who(actor)} escalated {ref} to its commander ({label}): {reason}", public=True)
    if len(args) < 2:
        raise InvalidInput("say whom and why: /warroom page @alice the primary is down (or schedule:dba ...)")
    kind, sep, name = args[0].partition(":")
    if not sep or kind not in PAGE_KINDS:  # a mention or an email names a user
        kind, name = "user", call.named.get(args[0], args[0])
    reason = " ".join(args[1:])
    label = await page_into(session=session, incident=incident, actor=actor, kind=kind, ref=name,
                            reason=reason, key=key, now=now)  # fmt: skip
    return Reply(f"{_who(actor)} paged {label} into {ref}: {reason}", public=True)


def _severity_of(context: AppContext, word: str) -> str | None:
    ids = context.procedure.procedure.severity_ids()
    return next((s for s in ids if s.lower() == word.lower()), None)


async def _declare(session: AsyncSession, context: AppContext, actor: User, command: ChatCommand) -> Reply:
    severity = _severity_of(context, command.args[0]) if command.args else None
    title = " ".join(command.args[1:]).strip()
    if severity is None or not title:
        ids = ", ".join(context.procedure.procedure.severity_ids())
        raise InvalidInput(f"say the severity ({ids}) and a title: /warroom declare P2 Checkout is slow")
    data = IncidentCreate(title=title[:300], severity=severity)
    incident = await service.declare_incident(session=session, loaded=context.procedure, actor=actor,
                                              data=data, now=context.clock.now())  # fmt: skip
    ref = domain.incident_ref(incident.id)
    return Reply(f"{_who(actor)} declared {ref} ({severity}): {title}", public=True)


async def _severity(
    session: AsyncSession, context: AppContext, actor: User, incident: Incident, command: ChatCommand
) -> Reply:
    new = _severity_of(context, command.args[0]) if command.args else None
    if new is None:
        ids = ", ".join(context.procedure.procedure.severity_ids())
        raise InvalidInput(f"name the new severity ({ids}): /warroom severity P2 spreading to EU")
    old, reason = incident.severity, " ".join(command.args[1:])
    patch = IncidentPatch(severity=new, severity_reason=reason or None)
    await service.update_incident(session=session, loaded=context.procedure, actor=actor, incident=incident,
                                  patch=patch, now=context.clock.now())  # fmt: skip
    ref = domain.incident_ref(incident.id)
    return Reply(f"{_who(actor)} changed the severity of {ref}: {old} → {new}.", public=True)


async def _role(
    session: AsyncSession, context: AppContext, actor: User, incident: Incident, call: Invocation
) -> Reply:
    procedure, args = context.procedure.procedure, call.command.args
    names = {role.id: role.name for role in procedure.roles}
    role = find_role(procedure.role_ids(), names, args[0]) if args else None
    if role is None:
        raise InvalidInput(f"name a role ({', '.join(procedure.role_ids())}): /warroom role commander me")
    who = args[1] if len(args) > 1 else "me"
    email = actor.email if who.lower() == "me" else call.named.get(who, who)
    await collaboration.assign_role(session=session, loaded=context.procedure, actor=actor, incident=incident,
                                    role=role, user_ref=email, now=context.clock.now())  # fmt: skip
    ref = domain.incident_ref(incident.id)
    if email == actor.email:
        return Reply(f"{_who(actor)} took {names[role]} on {ref}.", public=True)
    return Reply(f"{_who(actor)} made {email} {names[role]} on {ref}.", public=True)
