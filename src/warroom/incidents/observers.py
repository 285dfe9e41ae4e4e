"""What else happens, in the same transaction, when an event lands on an incident's timeline.

A transactional outbox: an observer stages jobs (a chat post, say) next to the event, so the event and
the work it causes commit together or not at all. The list is explicit and a test prints it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.incidents.models import Incident
from warroom.timeline.models import TimelineEvent

Observer = Callable[[AsyncSession, Incident, TimelineEvent], Awaitable[None]]


@functools.cache
def timeline_observers() -> tuple[Observer, ...]:
    # Imported here: observers build on incidents, which call this on every event.
    from warroom.chat.outbox import stage_chat_jobs

    return (stage_chat_jobs,)
