"""Start-up waits follow the process (tests/process.py): a process that exits before it is ready fails the
wait at once with its output, and one that starts slowly is waited for past the old fixed 30 s, as a busy
machine's server was (it had printed that it was serving, and its health check answered later)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.process import StartupFailed, running_server, startup_seconds

# Stands in for `warroom serve`: says it serves at once, then answers /healthz on WARROOM_PORT only after
# sleeping argv[1] seconds, or exits with code 3 and a last word when argv[1] is "fail".
STAND_IN = """
import os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
print("stand-in serving on port", os.environ["WARROOM_PORT"], flush=True)
if sys.argv[1] == "fail":
    print("cannot open the database: disk full", file=sys.stderr, flush=True)
    sys.exit(3)
time.sleep(float(sys.argv[1]))

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')  # what tests.process.healthy takes for warroom's answer

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(os.environ["WARROOM_PORT"])), Health).serve_forever()
"""
SLOW_START = 35.0  # seconds: past the 30 s that tests used to give a server


@pytest.fixture
def stand_in(tmp_path: Path) -> tuple[str, ...]:
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    return (sys.executable, str(script))


def test_a_server_that_exits_before_it_serves_fails_the_wait_at_once_with_its_output(
    stand_in: tuple[str, ...], tmp_path: Path
) -> None:
    began = time.monotonic()
    with (
        pytest.raises(StartupFailed) as failure,
        running_server({}, ("fail",), program=stand_in, log_dir=tmp_path / "logs"),
    ):
        pytest.fail("the stand-in exited, yet the wait said it was serving")
    took = time.monotonic() - began
    message = str(failure.value)
    assert "exited with 3 before it was ready" in message
    assert "cannot open the database: disk full" in message and "stand-in serving on port" in message
    assert took < 20, f"the wait took {took:.1f} s to notice the exit"


@pytest.mark.slow
def test_a_server_slow_to_answer_its_health_check_is_waited_for(
    stand_in: tuple[str, ...], tmp_path: Path
) -> None:
    assert startup_seconds() > SLOW_START + 30  # the default leaves a slow start room to spare
    began = time.monotonic()
    with running_server({}, (str(SLOW_START),), program=stand_in, log_dir=tmp_path / "logs") as server:
        waited = time.monotonic() - began
        assert server.process.poll() is None
        assert "stand-in serving on port" in server.stdout()
    assert waited >= SLOW_START


def test_the_start_up_deadline_is_configurable_and_a_late_start_names_it(
    stand_in: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARROOM_TEST_STARTUP_SECONDS", "2")
    assert startup_seconds() == 2.0
    with (
        pytest.raises(StartupFailed) as failure,
        running_server({}, ("60",), program=stand_in, log_dir=tmp_path / "logs"),
    ):
        pytest.fail("the stand-in answers only after 60 s")
    message = str(failure.value)
    assert "still not ready after 2 s" in message and "WARROOM_TEST_STARTUP_SECONDS" in message
    assert "stand-in serving on port" in message


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_bad_start_up_deadline_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("WARROOM_TEST_STARTUP_SECONDS", value)
    with pytest.raises(ValueError, match="WARROOM_TEST_STARTUP_SECONDS"):
        startup_seconds()
