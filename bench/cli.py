"""`python -m bench --suite cli`: how long the `warroom` command takes to start, beside the floor any CLI
built on the same libraries pays (Python importing Typer, Rich and httpx), measured in the same run.

Each command runs as its own process, as a person at a terminal runs it; the median of several runs is
kept. The operator commands talk to a URL where nothing listens, so what is measured is start-up, the
attempt and the one-line failure: the server's answer time belongs to the API benchmark.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

RUNS = 9
FLOOR = [sys.executable, "-c", "import typer, rich.console, rich.table, httpx"]
WARROOM = [sys.executable, "-m", "warroom.main"]
COMMANDS: dict[str, list[str]] = {
    "floor: import typer, rich, httpx": FLOOR,
    "warroom version": [*WARROOM, "version"],
    "warroom incidents": [*WARROOM, "incidents"],
    "warroom show INC-1": [*WARROOM, "show", "INC-1"],
    "warroom ack 1": [*WARROOM, "ack", "1"],
    "warroom procedure check": [*WARROOM, "procedure", "check"],
}
# Nothing listens on port 9 of the loopback (discard): the operator commands fail at once, in one line.
ENVIRONMENT = {"WARROOM_URL": "http://127.0.0.1:9", "WARROOM_TOKEN": "wr_bench"}


def median_seconds(command: list[str], runs: int) -> float:
    environment = {**os.environ, **ENVIRONMENT}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=environment, capture_output=True, check=False, timeout=120)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(args: Any, console: Console, settings: dict[str, Any]) -> int:
    # Interleaved rounds, so a burst of load elsewhere on the machine hits every command alike.
    found: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(3):
        for name, command in COMMANDS.items():
            found[name].append(median_seconds(command, RUNS // 3))
    floor = statistics.median(found[next(iter(COMMANDS))])
    table = Table(title=f"CLI start-up, median of {RUNS} runs (Python {settings['python']})")
    for column in ("command", "seconds", "x floor"):
        table.add_column(column)
    for name, values in found.items():
        seconds = statistics.median(values)
        table.add_row(name, f"{seconds:.3f}", f"{seconds / floor:.2f}")
    console.print(table)
    return 0
