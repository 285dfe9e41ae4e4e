"""The current procedure as a readable SOP: the very Markdown `warroom procedure render` prints, as HTML."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markdown_it import MarkdownIt

from warroom.deps import ContextDep
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.render import render_markdown
from warroom.web.deps import PageReader
from warroom.web.render import render, web_state

router = APIRouter(include_in_schema=False)


_RENDERED: dict[str, str] = {}  # by procedure hash: the same content renders to the same page


def sop_html(loaded: LoadedProcedure) -> str:
    """Rendered once per process and procedure (fixed while it runs); raw HTML in the file is escaped."""
    if loaded.version_hash not in _RENDERED:
        markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
        _RENDERED[loaded.version_hash] = markdown.render(render_markdown(loaded))
    return _RENDERED[loaded.version_hash]


@router.get("/procedure")
async def procedure_page(request: Request, user: PageReader, context: ContextDep) -> Response:
    loaded = context.procedure
    return render(
        request,
        "procedure.html",
        user=user,
        sop=web_state(request).sop_html,
        version=loaded.short_hash,
        label=loaded.procedure.version,
        title="Procedure",
    )
