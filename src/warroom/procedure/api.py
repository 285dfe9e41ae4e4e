from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from warroom.deps import CatalogReader, ContextDep
from warroom.procedure.render import render_markdown

router = APIRouter(prefix="/api/v1/procedure", tags=["procedure"])


@router.get("")
async def current_procedure(_user: CatalogReader, context: ContextDep) -> dict[str, Any]:
    loaded = context.procedure
    return {
        "version": loaded.version_hash,
        "label": loaded.procedure.version,
        "source": loaded.source,
        "procedure": loaded.procedure.model_dump(mode="json"),
    }


@router.get("/sop", response_class=PlainTextResponse)
async def procedure_sop(_user: CatalogReader, context: ContextDep) -> str:
    """The procedure as a readable Markdown SOP, the same text `warroom procedure render` prints."""
    return render_markdown(context.procedure)
