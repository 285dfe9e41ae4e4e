"""A worker's side of hand-offs (jobs.kinds.HandOff): which jobs it admits, and the tasks that run them.

Each queue's jobs-a-minute is one token bucket in this process, drawn on by the queue's claims and by the
jobs handed off to it alike: a hand-off skips the queue's wait, never its rate. Its slots it does not take
(the sends are bounded by their kind's places, as the queue's own batches are), but a queue has at most as
many jobs handed off and unfinished as its own claims may have running (slots times group): a handed-off
page is marked `sending` when written, and one left waiting for a place past its deadline would be claimed
and sent again (paging.delivery)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from warroom.clock import Clock
from warroom.jobs.kinds import Batched, HandOff, Kind
from warroom.jobs.models import Job
from warroom.jobs.queues import QueueLimits
from warroom.jobs.service import JobSpec
from warroom.ratelimit import Bucket


@dataclass
class HandOffs:
    """One worker's: which jobs a run may hand off, the rates and bounds they count against, and the tasks
    running them."""

    kinds: Mapping[str, Kind]
    limits: Mapping[str, QueueLimits]
    clock: Clock
    lease: Callable[[str], timedelta]
    run_batch: Callable[[Batched, list[Job], Mapping[int, Any]], Coroutine[None, None, None]]
    _rates: dict[str, Bucket] = field(default_factory=dict)
    _running: set[asyncio.Task[None]] = field(default_factory=set)
    _held: Counter[str] = field(default_factory=Counter)  # per queue: handed off (or admitted), unfinished

    def rate(self, queue: str) -> Bucket:
        """The queue's jobs-a-minute, as a bucket of this process that its claims and hand-offs draw on."""
        if queue not in self._rates:
            rate = self.limits[queue].per_minute / 60
            self._rates[queue] = Bucket(rate, max(rate, 1.0), max(rate, 1.0), time.monotonic())
        return self._rates[queue]

    def _admits(self, spec: JobSpec, held: Counter[str]) -> bool:
        """A batched kind, due now, on one of this worker's queues with room for one more handed off, and
        whose rate has room (taking its token); counted in `held` (the run's) until it is started."""
        limits = self.limits.get(spec.queue)
        if not isinstance(self.kinds.get(spec.kind), Batched) or limits is None:
            return False
        if spec.run_at is not None and spec.run_at > self.clock.now():
            return False
        if self._held[spec.queue] >= max(limits.slots, 1) * limits.group:
            return False
        if self.rate(spec.queue).take(time.monotonic()) != 0:
            return False
        self._held[spec.queue] += 1
        held[spec.queue] += 1
        return True

    @contextlib.contextmanager
    def opened(self) -> Iterator[HandOff]:
        """For one run: what it hands off, to `start` once its transaction has committed. On leaving, what
        was admitted and not started (the run failed, or a savepoint dropped it) is given back."""
        held: Counter[str] = Counter()
        try:
            yield HandOff(functools.partial(self._admits, held=held), self.lease, held=held)
        finally:
            for queue, count in held.items():
                self._held[queue] -= count

    def start(self, hand_off: HandOff) -> None:
        """The jobs handed off, in batches of their queue's group size, each as a task of its own: a slow
        receiver holds up neither the run that handed them off nor its queue's slots."""
        alike: dict[tuple[str, str], list[Job]] = {}
        for job in hand_off.jobs:
            alike.setdefault((job.queue, job.kind), []).append(job)
        for (queue, kind), jobs in alike.items():
            handler = self.kinds[kind]
            assert isinstance(handler, Batched)  # as `admits` checked
            size = self.limits[queue].group
            for start in range(0, len(jobs), size):
                batch = jobs[start : start + size]
                notes = {job.id: hand_off.notes[job.id] for job in batch if job.id in hand_off.notes}
                task = asyncio.create_task(self.run_batch(handler, batch, notes))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
                task.add_done_callback(functools.partial(self._finished, queue, len(batch)))
                hand_off.held[queue] -= len(batch)  # the task's now, given back when it is done

    def _finished(self, queue: str, count: int, _task: asyncio.Task[None]) -> None:
        self._held[queue] -= count

    async def wait(self) -> None:
        """Until every hand-off started has run (each settles its own jobs, failures included)."""
        await asyncio.gather(*self._running, return_exceptions=True)
