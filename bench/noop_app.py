"""The no-op intake server issue #20 measures warroom against: the same framework and server (FastAPI on
uvicorn, uvloop and httptools where installed), the same routes, each request's JSON body parsed, a 202
answered, nothing stored. Run by bench/intake_wrk.py as `python -m uvicorn bench.noop_app:app`."""

from __future__ import annotations

import json
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@app.post("/v2/enqueue")
async def pagerduty(request: Request) -> JSONResponse:
    event = json.loads(await request.body())
    answer = {"status": "success", "message": "Event processed", "dedup_key": event.get("dedup_key")}
    return JSONResponse(answer, status_code=202)


@app.post("/v2/alerts")
async def opsgenie(request: Request) -> JSONResponse:
    json.loads(await request.body())
    answer = {"result": "Request will be processed", "took": 0.0, "requestId": str(uuid.uuid4())}
    return JSONResponse(answer, status_code=202)


@app.post("/intake/alertmanager/{key}")
async def alertmanager(key: str, request: Request) -> JSONResponse:
    json.loads(await request.body())
    return JSONResponse({"status": "accepted"}, status_code=202)
