"""Durable work, visible to admins: jobs by state (failed ones with their last error) and a retry button.

Admins only: a payload is whatever its domain needed (addresses, ids, errors), so no other role reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from warroom.deps import CatalogWriter, ContextDep, JobsReader, ReadSession, WriteSession
from warroom.errors import Conflict, NotFound
from warroom.jobs import service
from warroom.jobs.models import Job

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


class JobOut(BaseModel):
    id: int
    kind: str
    queue: str
    state: str
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    payload: dict[str, Any]
    finished_at: datetime | None


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        queue=job.queue,
        state=job.state,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        run_at=job.run_at,
        last_error=job.last_error,
        payload=job.payload,
        finished_at=job.finished_at,
    )


@router.get("", response_model=list[JobOut])
async def list_jobs(
    _admin: JobsReader,
    session: ReadSession,
    state: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[JobOut]:
    return [job_out(j) for j in await service.list_jobs(session=session, state=state, kind=kind, limit=limit)]


@router.get("/counts")
async def job_counts(_admin: JobsReader, session: ReadSession) -> dict[str, int]:
    return await service.counts(session=session)


@router.post("/{job_id}/retry", response_model=JobOut)
async def retry_job(job_id: int, _admin: CatalogWriter, session: WriteSession, context: ContextDep) -> JobOut:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.state != "failed":
        raise Conflict(f"job {job_id} is {job.state}; only failed jobs are retried by hand")
    await service.retry(session=session, job_id=job_id, now=context.clock.now())
    await session.refresh(job)
    context.wake_worker()
    return job_out(job)
