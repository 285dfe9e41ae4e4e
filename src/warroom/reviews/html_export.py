"""The review as one standalone HTML page: the Markdown export rendered, with its print stylesheet inline, so
the file opens, prints and archives without the server."""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from warroom.incidents.models import Incident

PRINT_CSS = """
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111; max-width: 48rem;
       margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .5rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem;
  border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .4rem; text-align: left; vertical-align: top; }
strong { font-weight: 650; }
@page { size: A4; margin: 18mm 16mm; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; }
  a { color: inherit; } }
"""


def incident_review_html(incident: Incident, markdown: str) -> str:
    """The standalone page for an incident's review (the HTML export, and what the PDF is laid out from)."""
    return review_html(markdown, title=f"Review of INC-{incident.id} {incident.title}")


def review_html(markdown: str, *, title: str) -> str:
    """Raw HTML in the Markdown is escaped (html off), so text typed into a review cannot inject markup."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{PRINT_CSS}</style></head>\n<body>\n{body}</body></html>\n"
    )
