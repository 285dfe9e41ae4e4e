"""Words for what an update did, shared by the web timeline and the CLI (no imports: the CLI stays light)."""

from __future__ import annotations


def messages_sent(count: int) -> str:
    """How many stakeholder messages an update queued; none means its lists were empty."""
    if count == 0:
        return "no message: those lists were empty"
    return "1 message" if count == 1 else f"{count:,} messages"
