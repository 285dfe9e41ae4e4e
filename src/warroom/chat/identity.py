"""Who a chat account is in warroom, and back: matched by email, asked of the chat tool once and kept in
chat_users (Slack's users.info / users.lookupByEmail, Mattermost's GET /api/v4/users/{id})."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import normalise_email
from warroom.auth.models import User
from warroom.chat import slack
from warroom.chat.models import ChatUser
from warroom.context import AppContext


async def _cached(session: AsyncSession, provider: str, external_id: str) -> ChatUser | None:
    query = select(ChatUser).where(ChatUser.provider == provider, ChatUser.external_id == external_id)
    found: ChatUser | None = await session.scalar(query)
    return found


async def _keep(
    context: AppContext, provider: str, external_id: str, name: str, email: str | None
) -> ChatUser:
    """Store what the chat tool said, with the warroom user of that email; a concurrent lookup of the same
    account may have stored it first, and then that row is the answer."""
    email = normalise_email(email) if email else None
    async with context.db.write_turn, context.db.write() as session:
        user_id = await session.scalar(select(User.id).where(User.email == email)) if email else None
        account = ChatUser(
            provider=provider, external_id=external_id, name=name[:200], email=email, user_id=user_id,
            looked_up_at=context.clock.now(),
        )  # fmt: skip
        session.add(account)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            existing = await _cached(session, provider, external_id)
            if existing is None:
                raise
            return existing
    return account


def _slack_fields(user: dict[str, Any]) -> tuple[str, str | None]:
    profile = user.get("profile") or {}
    name = profile.get("real_name") or user.get("real_name") or user.get("name") or str(user.get("id"))
    return str(name), profile.get("email")


async def slack_account(context: AppContext, slack_user_id: str) -> ChatUser:
    """The Slack user behind an id (users.info the first time). Raises ChatCallFailed when Slack cannot
    say, RetryLater when it is rate limited."""
    async with context.db.read() as session:
        cached = await _cached(session, "slack", slack_user_id)
    if cached is not None:
        return cached
    data = await slack.call("users.info", slack.client(context.settings).users_info, user=slack_user_id)
    name, email = _slack_fields(data.get("user") or {})
    return await _keep(context, "slack", slack_user_id, name, email)


async def slack_id_for(context: AppContext, user: User) -> str | None:
    """The Slack user id of a warroom user (users.lookupByEmail the first time); None if Slack has none."""
    async with context.db.read() as session:
        query = select(ChatUser.external_id).where(ChatUser.provider == "slack", ChatUser.user_id == user.id)
        known = await session.scalar(query.limit(1))
    if known is not None:
        return str(known)
    lookup = slack.client(context.settings).users_lookupByEmail
    try:
        data = await slack.call("users.lookupByEmail", lookup, email=user.email)
    except slack.ChatCallFailed as error:
        if error.code == "users_not_found":
            return None
        raise
    found = data.get("user") or {}
    name, _email = _slack_fields(found)
    return (await _keep(context, "slack", str(found["id"]), name, user.email)).external_id


async def mattermost_account(context: AppContext, mattermost_user_id: str) -> ChatUser:
    async with context.db.read() as session:
        cached = await _cached(session, "mattermost", mattermost_user_id)
    if cached is not None:
        return cached
    settings = context.settings
    if not settings.mattermost_api_url or settings.mattermost_bot_token is None:
        raise slack.ChatCallFailed("set WARROOM_MATTERMOST_API_URL and _BOT_TOKEN to link Mattermost users")
    url = f"{settings.mattermost_api_url.rstrip('/')}/api/v4/users/{mattermost_user_id}"
    headers = {"Authorization": f"Bearer {settings.mattermost_bot_token.get_secret_value()}"}
    try:
        async with httpx.AsyncClient(timeout=settings.chat_timeout_seconds) as http:
            response = await http.get(url, headers=headers)
        response.raise_for_status()
        found = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise slack.ChatCallFailed(f"Mattermost users API: {type(error).__name__}") from None
    name = " ".join(p for p in (found.get("first_name"), found.get("last_name")) if p) or found.get(
        "username"
    )
    return await _keep(context, "mattermost", mattermost_user_id, str(name or ""), found.get("email"))


async def warroom_user(session: AsyncSession, account: ChatUser) -> User | None:
    """The active warroom user of a chat account: linked when looked up, or since created with its email."""
    if account.user_id is not None:
        user = await session.get(User, account.user_id)
    elif account.email:
        user = await session.scalar(select(User).where(User.email == account.email))
    else:
        user = None
    return user if user is not None and user.is_active else None
