"""What one running app holds: settings, database, the loaded procedure, the clock and the intake runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
