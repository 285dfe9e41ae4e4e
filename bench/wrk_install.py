"""Find wrk for the intake bench's max-rate scenarios; as root, install the Debian package if missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from rich.console import Console
from rich.markup import escape

WRK = Path("/usr/bin/wrk")
APT_SECONDS = 600
FALLBACK = (
    "the wrk max-rate scenarios are skipped; the max-rate figures come from the Python load generator "
    "alone, which uses about a core itself, so they are client-bound"
)


def _apt(console: Console, *args: str) -> bool:
    command = ["apt-get", *args]
    console.print(f"bench: running `{' '.join(command)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=APT_SECONDS, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        console.print(f"bench: `{' '.join(command)}` failed: {escape(str(error))}")
        return False
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        console.print(f"bench: `{' '.join(command)}` exited {done.returncode}:\n{escape(tail)}")
    return done.returncode == 0


def install_wrk(console: Console) -> bool:
    """apt-get install -y wrk; if that fails (stale or empty package lists), apt-get update and once more."""
    if os.geteuid() != 0:
        console.print("bench: wrk is not installed and we are not root, so not installing it")
        return False
    if shutil.which("apt-get") is None:
        console.print("bench: wrk is not installed and there is no apt-get to install it with")
        return False
    if _apt(console, "install", "-y", "-q", "wrk"):
        return True
    return _apt(console, "update", "-q") and _apt(console, "install", "-y", "-q", "wrk")


def find_wrk(console: Console) -> str | None:
    """/usr/bin/wrk, or wrk on PATH; else install the Debian package if we may. None: fall back to Python."""
    if WRK.exists():
        return str(WRK)
    found = shutil.which("wrk")
    if found:
        return found
    console.print(f"bench: {WRK} is missing; installing the Debian package wrk")
    if install_wrk(console) and (WRK.exists() or shutil.which("wrk")):
        console.print("bench: wrk installed")
        return str(WRK) if WRK.exists() else shutil.which("wrk")
    console.print(f"[yellow]bench: no wrk: {FALLBACK}[/]")
    return None
