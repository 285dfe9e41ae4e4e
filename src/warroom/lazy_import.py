"""Heavy libraries that few requests or jobs need, imported on first use in a thread: in the event loop an
import of a third of a second would hold up intake and pages, and at start-up every server and worker paid
for it whether or not it was used."""

from __future__ import annotations

import asyncio
import importlib
import sys
from types import ModuleType

# Names whose import has completed. sys.modules alone would not do: it holds a module while another thread
# is still running its import, and importlib.import_module waits on that module's lock.
_DONE: set[str] = set()


async def imported(name: str) -> ModuleType:
    """The module `name`, imported in a worker thread the first time; afterwards a lookup."""
    if name not in _DONE:
        await asyncio.to_thread(importlib.import_module, name)
        _DONE.add(name)
    return sys.modules[name]
