"""What one running app holds: settings, database, the loaded procedure, the clock, and what the composition
root (warroom.wiring) hands down to the layers below it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from warroom.clock import Clock
from warroom.config import Settings
from warroom.db import SessionFactories
from warroom.procedure.loader import LoadedProcedure

if TYPE_CHECKING:
    from warroom.alerts.intake.flow import IntakeRuntime
    from warroom.incidents.service import PublishedCheck


@dataclass
class AppContext:
    settings: Settings
    db: SessionFactories  # its write sessions carry the timeline observers (db.WriteHooks)
    procedure: LoadedProcedure
    clock: Clock
    # Guards a lower domain needs from a higher one, registered by warroom.wiring.
    review_published: PublishedCheck
    wake_worker: Callable[[], None] = field(default=lambda: None)
    intake: IntakeRuntime | None = None
