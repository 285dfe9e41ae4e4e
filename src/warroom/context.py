"""What one running app holds: settings, database, the loaded procedure, the clock and the intake runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.clock import Clock
from warroom.config import Settings
from warroom.db import SessionFactories
from warroom.procedure.loader import LoadedProcedure

if TYPE_CHECKING:
    from warroom.alerts.intake_flow import IntakeRuntime


@dataclass
class AppContext:
    settings: Settings
    db: SessionFactories
    procedure: LoadedProcedure
    clock: Clock
    wake_worker: Callable[[], None] = field(default=lambda: None)
    intake: IntakeRuntime | None = None


# Write sessions carry the app's context in `session.info`, so what runs inside a service call (timeline
# observers) can read the settings and procedure without every service passing them along. A session made
# without it (a bare SessionFactories in an admin command) gets no observers' side effects.
SESSION_CONTEXT = "warroom.context"


def bind_sessions(context: AppContext) -> None:
    context.db.write.configure(info={SESSION_CONTEXT: context})


def context_of(session: AsyncSession) -> AppContext | None:
    found = session.info.get(SESSION_CONTEXT)
    return found if isinstance(found, AppContext) else None
