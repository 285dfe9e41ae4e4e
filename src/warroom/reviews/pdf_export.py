"""The review as a PDF: the standalone HTML export, print stylesheet and all (A4, margins, no break after a
heading), laid out by WeasyPrint. WeasyPrint loads the system's Pango; where it is missing the export says
so and how to fix it, and the HTML export still prints to PDF from any browser.

Nothing is fetched while laying out: review text is Markdown typed by responders, and an image in it
(`![](http://169.254.169.254/...)`, `file:///etc/...`) must not make the server read a URL or a file."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from warroom.errors import Unavailable

PANGO_MISSING = (
    "PDF export needs the Pango library (Debian and Ubuntu: apt install libpango-1.0-0 libpangoft2-1.0-0); "
    "the HTML export prints to PDF from any browser"
)


@functools.cache
def _weasyprint() -> Any:
    try:
        import weasyprint
    except OSError as error:  # cffi could not open libpango or libgobject
        raise Unavailable(PANGO_MISSING) from error
    return weasyprint


def _render(html: str) -> bytes:
    weasyprint = _weasyprint()
    no_fetching = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=no_fetching).write_pdf()
    return pdf


async def review_pdf(html: str) -> bytes:
    """Laid out in a thread: a review takes a tenth of a second or more of CPU, and the event loop serves
    everyone else meanwhile."""
    return await asyncio.to_thread(_render, html)
