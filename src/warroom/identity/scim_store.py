"""SCIM 2.0 resources over warroom's accounts (RFC 7643/7644, models from `scim2-models`).

A SCIM User drives one warroom account: its email (the primary of `emails`, else an email-shaped
`userName`), its name, and `active`. Turning `active` off or deleting the User lets the person go
(warroom.identity.leavers): deactivated at once, sessions and tokens revoked, their on-call places flagged.
A SCIM Group is a group name for the group rules: its members get the role and teams the rules give it.
The document as written is kept, so attributes warroom does not use read back unchanged. Never commits."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from scim2_models import (
    ConflictException,
    Group,
    InvalidValueException,
    NotFoundException,
)
from scim2_models import (
    User as ScimUserModel,
)
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import email_problem, normalise_email
from warroom.auth.models import User
from warroom.identity.domain import Access, decide
from warroom.identity.leavers import deprovision
from warroom.identity.models import ScimGroup, ScimGroupMember, ScimUser
from warroom.identity.service import apply_access, rules

NO_ACCESS_ROLE = "stakeholder"  # provisioned but in no mapped group: the least a person can be
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER_PREFIX, GROUP_PREFIX = "u", "g"
NOT_KEPT = ("id", "meta", "password", "groups", "schemas")


def _email_of(model: ScimUserModel[Any]) -> str:
    emails = model.emails or []
    chosen = next((e.value for e in emails if e.primary and e.value), None) or next(
        (e.value for e in emails if e.value), None
    )
    email = normalise_email(chosen or model.user_name or "")
    if not email_problem(email):
        return email
    if chosen:
        raise InvalidValueException(detail=f"emails: {chosen!r} is not an email address")
    # RFC 7643 does not require an email; warroom keys accounts on one, so a stand-in that can never be
    # delivered to (.invalid, RFC 2606) holds the place until the provider sends a real one.
    return f"scim-{hashlib.sha256((model.user_name or '').encode()).hexdigest()[:20]}@provisioned.invalid"


def _name_of(model: ScimUserModel[Any], email: str) -> str:
    parts = model.name
    joined = " ".join(p for p in (parts.given_name, parts.family_name) if p) if parts else ""
    chosen = model.display_name or (parts.formatted if parts else None) or joined or email
    return chosen.strip()[:200] or email


def _document(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    return {k: v for k, v in dumped.items() if k not in NOT_KEPT}


async def _unique(session: AsyncSession, user_name: str, email: str, keep: User | None) -> None:
    taken = await session.scalar(select(ScimUser.user_id).where(ScimUser.user_name == user_name))
    if taken is not None and (keep is None or taken != keep.id):
        raise ConflictException(detail=f"userName {user_name!r} is taken")
    owner = await session.scalar(select(User).where(User.email == email))
    if owner is not None and owner is not keep:
        if owner.break_glass:
            raise ConflictException(detail=f"{email} is a break-glass account, managed in warroom only")
        if await session.scalar(select(ScimUser.id).where(ScimUser.user_id == owner.id)) is not None:
            raise ConflictException(detail=f"{email} is provisioned already")


async def groups_of(session: AsyncSession, user_id: int) -> list[str]:
    names = await session.scalars(
        select(ScimGroup.display_name)
        .join(ScimGroupMember, ScimGroupMember.group_id == ScimGroup.id)
        .where(ScimGroupMember.user_id == user_id)
    )
    return list(names)


async def refresh_access(session: AsyncSession, user: User) -> None:
    """The role and teams the person's SCIM groups give (the least role when none is mapped)."""
    if user.break_glass:
        return
    access = decide(await groups_of(session, user.id), await rules(session=session))
    await apply_access(session=session, user=user, access=access or Access(NO_ACCESS_ROLE, frozenset()))


async def write_user(
    session: AsyncSession, model: ScimUserModel[Any], now: datetime, row: ScimUser | None = None
) -> ScimUser:
    """Create (no `row`) or replace a User; the account follows `active`."""
    user = await session.get(User, row.user_id) if row is not None else None
    email = _email_of(model)
    await _unique(session, model.user_name or email, email, user)
    if user is None:
        user = await session.scalar(select(User).where(User.email == email))  # an account made by hand
    if user is None:
        user = User(email=email, name="", role=NO_ACCESS_ROLE, is_active=True, created_at=now)
        session.add(user)
    user.email, user.name, user.external_id = email, _name_of(model, email), model.external_id
    await session.flush()
    if row is None:
        row = ScimUser(user_id=user.id, user_name="", document={}, created_at=now, updated_at=now)
        session.add(row)
    row.user_name, row.document, row.updated_at = model.user_name or email, _document(model), now
    await set_active(session, user, model.active is not False, now)
    await refresh_access(session, user)
    await session.flush()
    return row


async def set_active(session: AsyncSession, user: User, active: bool, now: datetime) -> None:
    if user.is_active and not active:
        await deprovision(session=session, user=user, now=now, why="deactivated by the identity provider")
    elif active:
        user.is_active = True


async def get_user(session: AsyncSession, resource_id: str) -> ScimUser:
    number = _number(resource_id, USER_PREFIX)
    found = await session.get(ScimUser, number) if number else None
    if found is None:
        raise NotFoundException(detail=f"no User {resource_id!r}")
    return found


async def delete_user(session: AsyncSession, row: ScimUser, now: datetime) -> None:
    """The SCIM resource goes; the account stays (its history is the incidents'), let go."""
    user = await session.get(User, row.user_id)
    if user is not None and user.is_active:
        await deprovision(session=session, user=user, now=now, why="deleted by the identity provider")
    await session.execute(delete(ScimGroupMember).where(ScimGroupMember.user_id == row.user_id))
    await session.delete(row)
    await session.flush()


def _number(resource_id: str, prefix: str) -> int | None:
    """The row id in a SCIM id; the prefixes keep Users' and Groups' ids apart, since clients (and
    `/.search` across both) tell resources apart by id alone."""
    digits = resource_id.removeprefix(prefix)
    return int(digits) if resource_id.startswith(prefix) and digits.isdigit() and len(digits) < 12 else None


async def user_model(session: AsyncSession, row: ScimUser, base: str) -> ScimUserModel[Any]:
    user = await session.get(User, row.user_id)
    groups = await session.execute(
        select(ScimGroup.id, ScimGroup.display_name)
        .join(ScimGroupMember, ScimGroupMember.group_id == ScimGroup.id)
        .where(ScimGroupMember.user_id == row.user_id)
    )
    data = {
        **row.document,
        "schemas": [USER_SCHEMA],
        "id": f"{USER_PREFIX}{row.id}",
        # As the provider wrote it; false whenever warroom let the person go (e.g. no mapped group left).
        **({"active": False} if user is None or not user.is_active else {}),
        "groups": [
            {"value": f"{GROUP_PREFIX}{gid}", "display": name, "$ref": f"{base}/Groups/{GROUP_PREFIX}{gid}"}
            for gid, name in groups
        ],
        "meta": _meta("User", f"{base}/Users/{USER_PREFIX}{row.id}", row.created_at, row.updated_at),
    }
    return ScimUserModel.model_validate(data)


def _meta(kind: str, location: str, created: datetime, modified: datetime) -> dict[str, Any]:
    version = f'W/"{int(modified.timestamp() * 1e6)}"'
    return {"resourceType": kind, "location": location, "created": created.isoformat(),
            "lastModified": modified.isoformat(), "version": version}  # fmt: skip


async def _members(session: AsyncSession, model: Group) -> list[int]:
    """The User ids a Group names; a member warroom does not know (or a nested group) is refused."""
    rows = []
    for member in model.members or []:
        row = await session.get(ScimUser, _number(member.value or "", USER_PREFIX) or 0)
        if row is None:
            raise InvalidValueException(detail=f"member {member.value!r} is not a User here")
        rows.append(row.user_id)
    return rows


async def write_group(
    session: AsyncSession, model: Group, now: datetime, row: ScimGroup | None = None
) -> ScimGroup:
    name = (model.display_name or "").strip()
    if not name:
        raise InvalidValueException(detail="displayName is required")
    taken = await session.scalar(select(ScimGroup.id).where(ScimGroup.display_name == name))
    if taken is not None and (row is None or taken != row.id):
        raise ConflictException(detail=f"a group {name!r} exists already")
    wanted = set(await _members(session, model))
    if row is None:
        row = ScimGroup(display_name=name, document={}, created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
    before = set(
        await session.scalars(select(ScimGroupMember.user_id).where(ScimGroupMember.group_id == row.id))
    )
    row.display_name, row.document, row.updated_at = name, _document(model), now  # members' displays kept
    await session.execute(
        delete(ScimGroupMember).where(
            ScimGroupMember.group_id == row.id, ScimGroupMember.user_id.in_(before - wanted)
        )
    )
    session.add_all(ScimGroupMember(group_id=row.id, user_id=uid) for uid in wanted - before)
    await session.flush()
    for user_id in before | wanted:  # a renamed group changes what every member gets
        user = await session.get(User, user_id)
        if user is not None:
            await refresh_access(session, user)
    return row


async def get_group(session: AsyncSession, resource_id: str) -> ScimGroup:
    number = _number(resource_id, GROUP_PREFIX)
    found = await session.get(ScimGroup, number) if number else None
    if found is None:
        raise NotFoundException(detail=f"no Group {resource_id!r}")
    return found


async def delete_group(session: AsyncSession, row: ScimGroup, _now: datetime) -> None:
    members = list(
        await session.scalars(select(ScimGroupMember.user_id).where(ScimGroupMember.group_id == row.id))
    )
    await session.delete(row)
    await session.flush()
    for user_id in members:
        user = await session.get(User, user_id)
        if user is not None:
            await refresh_access(session, user)


async def group_model(session: AsyncSession, row: ScimGroup, base: str) -> Group:
    members = await session.execute(
        select(ScimUser.id, User.name)
        .join(ScimGroupMember, ScimGroupMember.user_id == ScimUser.user_id)
        .join(User, User.id == ScimUser.user_id)
        .where(ScimGroupMember.group_id == row.id)
        .order_by(ScimUser.id)
    )
    written = {str(m.get("value")): m["display"] for m in row.document.get("members", []) if m.get("display")}
    data = {
        **row.document,
        "schemas": [GROUP_SCHEMA],
        "id": f"{GROUP_PREFIX}{row.id}",
        "displayName": row.display_name,
        "members": [{"value": f"{USER_PREFIX}{sid}", "display": written.get(f"{USER_PREFIX}{sid}", name),
                     "$ref": f"{base}/Users/{USER_PREFIX}{sid}",
                     "type": "User"} for sid, name in members] or None,
        "meta": _meta("Group", f"{base}/Groups/{GROUP_PREFIX}{row.id}", row.created_at, row.updated_at),
    }  # fmt: skip
    return Group.model_validate({k: v for k, v in data.items() if v is not None})
