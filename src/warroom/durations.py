"""How warroom writes a length of time, everywhere (pages, the CLI, reports): "36 s", "4 min 12 s",
"25 min", "2 h 5 min", "3 d 4 h". Units always, never "0:52" or "0.6 minutes"; seconds only while they
matter (under ten minutes)."""

from __future__ import annotations


def spoken(seconds: float | None) -> str:
    """`seconds` (its size: a sign is the caller's to say) in at most two units; "-" for None."""
    if seconds is None:
        return "-"
    total = round(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes >= 10 or (minutes and not secs):
        return f"{minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
