"""Single sign-on: the configured providers, sign-ins in flight (state, nonce, PKCE verifier, used once),
and a person from the provider onto a warroom account, just in time, with the role and teams their groups
give. Never commits: the caller does."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import hash_token
from warroom.auth.models import Team, TeamMember, User
from warroom.config import Settings
from warroom.errors import Conflict, FieldProblem, InvalidInput, NotFound, PermissionDenied
from warroom.identity.domain import Access, Person, Rule, decide, managed_team_ids
from warroom.identity.leavers import deprovision
from warroom.identity.models import GroupRule, SsoLogin, SsoProvider
from warroom.identity.oidc import ProviderConfig, SignInFailed

SIGN_IN_WINDOW = timedelta(minutes=10)  # from "Sign in with ..." to the provider's answer


def configured_from_settings(settings: Settings) -> ProviderConfig | None:
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    return ProviderConfig(
        slug=settings.oidc_slug, name=settings.oidc_name, issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id, client_secret=secret, scopes=settings.oidc_scopes,
        email_claim=settings.oidc_email_claim, name_claim=settings.oidc_name_claim,
        groups_claim=settings.oidc_groups_claim,
    )  # fmt: skip


def config_of(row: SsoProvider) -> ProviderConfig:
    return ProviderConfig(
        slug=row.slug, name=row.name, issuer=row.issuer, client_id=row.client_id,
        client_secret=row.client_secret, scopes=row.scopes, email_claim=row.email_claim,
        name_claim=row.name_claim, groups_claim=row.groups_claim,
    )  # fmt: skip


async def providers(*, session: AsyncSession, settings: Settings) -> list[ProviderConfig]:
    """The environment's provider first (if set), then those added with `warroom sso add`."""
    rows = await session.scalars(select(SsoProvider).order_by(SsoProvider.name))
    from_env = configured_from_settings(settings)
    stored = [config_of(row) for row in rows if from_env is None or row.slug != from_env.slug]
    return ([from_env] if from_env else []) + stored


async def provider(*, session: AsyncSession, settings: Settings, slug: str) -> ProviderConfig:
    for found in await providers(session=session, settings=settings):
        if found.slug == slug:
            return found
    raise NotFound(f"no single sign-on provider {slug!r}")


async def start_sign_in(
    *, session: AsyncSession, config: ProviderConfig, next_path: str, now: datetime
) -> tuple[str, str, str]:
    """A new sign-in: (state, nonce, code_verifier); only the state's hash is stored."""
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    session.add(
        SsoLogin(state_hash=hash_token(state), provider=config.slug, nonce=nonce, code_verifier=verifier,
                 next_path=next_path, created_at=now)
    )  # fmt: skip
    await session.execute(delete(SsoLogin).where(SsoLogin.created_at < now - SIGN_IN_WINDOW))
    await session.flush()
    return state, nonce, verifier


async def take_sign_in(*, session: AsyncSession, state: str, slug: str, now: datetime) -> SsoLogin:
    """The sign-in this state started, marked used: a replayed, unknown or stale state is refused."""
    found = await session.scalar(
        select(SsoLogin).where(SsoLogin.state_hash == hash_token(state)).with_for_update()
    )
    if found is None or found.provider != slug:
        raise SignInFailed("this sign-in was not started here (unknown state); start again")
    if found.used_at is not None:
        raise SignInFailed("this sign-in was used already (a replayed answer); start again")
    if now - found.created_at > SIGN_IN_WINDOW:
        raise SignInFailed("this sign-in took longer than 10 minutes; start again")
    found.used_at = now
    await session.flush()
    return found


async def rules(*, session: AsyncSession) -> list[Rule]:
    rows = await session.scalars(select(GroupRule).order_by(GroupRule.id))
    return [Rule(row.group_name, row.role, row.team_id) for row in rows]


async def _account(session: AsyncSession, slug: str, person: Person) -> User | None:
    linked = await session.scalar(
        select(User).where(User.sso_provider == slug, User.sso_subject == person.subject)
    )
    if linked is not None:
        return linked
    by_email = await session.scalar(select(User).where(User.email == person.email))
    if by_email is not None and by_email.sso_subject is not None:
        raise PermissionDenied(f"{person.email} is already linked to another sign-in; ask an admin")
    return by_email


async def apply_access(*, session: AsyncSession, user: User, access: Access) -> None:
    """The role the groups give, and membership of exactly the rule-managed teams they give."""
    user.role = access.role
    managed = managed_team_ids(await rules(session=session))
    current = set(
        await session.scalars(
            select(TeamMember.team_id).where(TeamMember.user_id == user.id, TeamMember.team_id.in_(managed))
        )
    )
    for team_id in access.team_ids - current:
        session.add(TeamMember(team_id=team_id, user_id=user.id))
    leaving = current - access.team_ids
    if leaving:
        await session.execute(
            delete(TeamMember).where(TeamMember.user_id == user.id, TeamMember.team_id.in_(leaving))
        )
    await session.flush()


@dataclass(frozen=True)
class SignInOutcome:
    """The account signed in, or why not (commit either way: a refusal may have let someone go)."""

    user: User | None
    refused: str = ""


async def sign_in_person(*, session: AsyncSession, slug: str, person: Person, now: datetime) -> SignInOutcome:
    """The account for this person, created on first sign-in; refused (and an existing account let go)
    when none of their groups is mapped. A break-glass account keeps its own role and is never let go."""
    try:
        user = await _account(session, slug, person)
    except PermissionDenied as refused:
        return SignInOutcome(None, refused.detail)
    access = decide(person.groups, await rules(session=session))
    if access is None:
        if user is not None and user.is_active and not user.break_glass:
            await deprovision(session=session, user=user, now=now, why="removed from every mapped group")
        return SignInOutcome(None, f"{person.email} is in no group that has access to warroom; ask an admin")
    if user is None:
        user = User(email=person.email, name=person.name, role=access.role, is_active=True, created_at=now)
        session.add(user)
        await session.flush()
    if not user.is_active:
        return SignInOutcome(None, f"{person.email}'s account is deactivated; ask an admin")
    user.sso_provider, user.sso_subject, user.name = slug, person.subject, person.name
    if not user.break_glass:
        await apply_access(session=session, user=user, access=access)
    await session.flush()
    return SignInOutcome(user)


async def add_rule(
    *, session: AsyncSession, group: str, role: str, team: str | None, now: datetime
) -> GroupRule:
    """A new group rule; 422 for an unknown team, 409 for a rule that exists already."""
    team_id = None
    if team:
        team_id = await session.scalar(select(Team.id).where(Team.slug == team))
        if team_id is None:
            raise InvalidInput(f"team: no team {team!r}", [FieldProblem("team", "unknown team")])
    same = select(GroupRule.id).where(
        GroupRule.group_name == group,
        GroupRule.role == role,
        GroupRule.team_id.is_(None) if team_id is None else GroupRule.team_id == team_id,
    )
    if await session.scalar(same) is not None:
        raise Conflict("this rule exists already")
    rule = GroupRule(group_name=group, role=role, team_id=team_id, created_at=now)
    session.add(rule)
    await session.flush()
    return rule


async def remove_rule(*, session: AsyncSession, rule_id: int) -> None:
    rule = await session.get(GroupRule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    await session.delete(rule)
    await session.flush()


async def rule_views(*, session: AsyncSession) -> list[tuple[GroupRule, str | None]]:
    """Every rule with its team's slug, by group."""
    rows = await session.execute(
        select(GroupRule, Team.slug)
        .outerjoin(Team, Team.id == GroupRule.team_id)
        .order_by(GroupRule.group_name, GroupRule.id)
    )
    return [(rule, slug) for rule, slug in rows]
