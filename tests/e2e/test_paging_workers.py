"""Paging with real `warroom worker` processes beside `warroom serve`: alerts posted through the intake reach
a local sink exactly once each across several workers (PostgreSQL) or the one worker (SQLite), nothing is
lost when a worker is SIGKILLed mid-run, a channel answering 500 is retried, and a channel that hangs holds
up no other channel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import empty_all_tables
from tests.e2e.paging_helpers import (
    admin_token,
    alert_keys,
    deliveries,
    hanging_sink,
    overlong_leases,
    post_alerts,
    running_workers,
    set_up_paging,
    stack_env,
    start_worker,
    tally,
    wait_until,
)
from tests.fakes.sink import Sink, running_sink
from tests.fakes.smtp import Mailbox, running_mailbox
from tests.process import ServerProcess, child_env, free_port, running_server
from warroom.db import sync_url

LEASE_SECONDS = 8  # WARROOM_JOB_LEASE_SECONDS: a SIGKILLed worker's jobs return after this
DEADLINE = 120.0  # for all pages to arrive; 1,000 alerts take 30-90 s on a busy 2-core machine
ALERTS = 1_000  # per run
KINDS = ("alert.triage", "escalation.step", "notify.send")


@pytest.fixture
def pg_url(postgresql_database: str) -> Iterator[str]:
    try:
        yield postgresql_database
    finally:
        empty_all_tables(postgresql_database)


@pytest.fixture
def sqlite_url(sqlite_database: str) -> Iterator[str]:
    try:
        yield sqlite_database
    finally:
        empty_all_tables(sqlite_database)


def env_for(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    port = free_port()
    return stack_env(
        db_url, data_dir, WARROOM_PORT=str(port), WARROOM_BASE_URL=f"http://127.0.0.1:{port}", **extra
    )


def all_delivered(sink: Sink, db_url: str, count: int) -> bool:
    """The sink has a delivery for every alert and the workers have nothing left to do."""
    return len({r["headers"]["Idempotency-Key"] for r in sink.received}) >= count and (
        tally(db_url).unfinished() == 0
    )


def assert_paged_once_each(sink: Sink, db_url: str, data_dir: Path, count: int) -> int:
    """Every alert paged by exactly one step run and one message, all sent; returns the sink's duplicates."""
    got = deliveries(sink, data_dir)
    assert len(got.keys) == count and got.alerts == set(alert_keys(count))
    db = tally(db_url)
    assert db.messages == {"sent": count}
    assert db.jobs == {(kind, "done"): count for kind in KINDS}
    assert db.escalations == {"exhausted": count}
    assert db.paged == count  # the step's "paged" trail is written once per escalation: no step ran twice
    assert db.message_attempts - count >= got.duplicates  # a sink duplicate only for a message sent again
    return got.duplicates


def page_through_workers(
    db_url: str, data_dir: Path, logs: Path, workers: int, count: int, servers: int = 1
) -> None:
    env = env_for(db_url, data_dir)
    token = admin_token(env)
    serve = ("serve", "--processes", str(servers))  # N server processes answering on one address
    with running_sink() as sink, running_server(env, serve, log_dir=logs / "serve") as server:
        key = set_up_paging(server.url, token, [("webhook", f"{sink.url}/hook", None)])
        with running_workers(env, logs, workers):
            began = time.monotonic()
            post_alerts(server.url, key, alert_keys(count))
            posted = time.monotonic() - began
            wait_until(lambda: all_delivered(sink, db_url, count), DEADLINE, f"{count} pages", every=0.5)
            took = time.monotonic() - began
        print(
            f"\n{workers} worker(s), {count} alerts: posted in {posted:.1f} s, all paged after {took:.1f} s"
        )
        assert len(sink.received) == count  # exactly once: no delivery repeated
        assert assert_paged_once_each(sink, db_url, data_dir, count) == 0
        assert tally(db_url).job_attempts == dict.fromkeys(KINDS, count)  # every job ran exactly once


@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_page_a_thousand_alerts_exactly_once(
    pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    page_through_workers(pg_url, data_dir, tmp_path / "logs", workers=3, count=ALERTS)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_servers_and_two_workers_on_one_address_page_each_alert_once(
    pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """The documented deployment (docs/deploy.md) in small: nothing lost, nothing paged twice."""
    page_through_workers(pg_url, data_dir, tmp_path / "logs", workers=2, count=ALERTS // 2, servers=2)


@pytest.mark.slow
def test_one_worker_on_sqlite_pages_each_alert_exactly_once(
    sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    page_through_workers(sqlite_url, data_dir, tmp_path / "logs", workers=1, count=ALERTS)


def kill_midway(
    workers: list[subprocess.Popen[bytes]], sink: Sink, env: dict[str, str], logs: Path, at: int
) -> None:
    """SIGKILL the first worker once the sink has `at` deliveries, and start a replacement."""
    wait_until(lambda: len(sink.received) >= at, DEADLINE, f"{at} deliveries before the kill", every=0.01)
    os.kill(workers[0].pid, signal.SIGKILL)
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    print(f"\nkilled worker pid {workers[0].pid} at {len(sink.received)} deliveries")
    workers.append(start_worker(env, logs, "replacement"))


def run_with_a_kill(
    db_url: str, server: ServerProcess, sink: Sink, env: dict[str, str], logs: Path, workers: int
) -> None:
    count = ALERTS
    key = set_up_paging(server.url, admin_token(env), [("webhook", f"{sink.url}/hook", None)])
    with running_workers(env, logs, workers) as started, ThreadPoolExecutor(1) as pool:
        began = time.monotonic()
        posting = pool.submit(post_alerts, server.url, key, alert_keys(count))
        kill_midway(started, sink, env, logs, at=300)
        posting.result(timeout=120)
        assert overlong_leases(db_url, LEASE_SECONDS) == 0, "WARROOM_JOB_LEASE_SECONDS is not honoured"
        wait_until(lambda: all_delivered(sink, db_url, count), DEADLINE, f"{count} pages", every=0.5)
        took = time.monotonic() - began
    duplicates = assert_paged_once_each(sink, db_url, Path(env["WARROOM_DATA_DIR"]), count)
    rerun = {kind: n - count for kind, n in tally(db_url).job_attempts.items()}
    print(f"all paged after {took:.1f} s; sink duplicates (same key): {duplicates}; jobs re-run: {rerun}")
    assert sum(rerun.values()) >= 1, "the kill interrupted no job, so this run proved nothing"


@pytest.mark.slow
@pytest.mark.postgres
def test_a_sigkilled_worker_loses_no_page_and_no_step_runs_twice(
    pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    env = env_for(pg_url, data_dir, WARROOM_JOB_LEASE_SECONDS=str(LEASE_SECONDS))
    with running_sink() as sink, running_server(env, log_dir=tmp_path / "serve") as server:
        run_with_a_kill(pg_url, server, sink, env, tmp_path / "logs", workers=3)


@pytest.mark.slow
def test_the_only_worker_on_sqlite_sigkilled_and_restarted_loses_no_page(
    sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """SQLite's single worker is killed mid-run; the one started in its place finishes the work, once."""
    env = env_for(sqlite_url, data_dir, WARROOM_JOB_LEASE_SECONDS=str(LEASE_SECONDS))
    with running_sink() as sink, running_server(env, log_dir=tmp_path / "serve") as server:
        run_with_a_kill(sqlite_url, server, sink, env, tmp_path / "logs", workers=1)


@pytest.mark.slow
def test_a_channel_answering_500_is_retried_by_the_worker_until_it_takes_each_page_once(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    count = 20
    env = env_for(db_url, data_dir)
    with running_sink() as sink, running_server(env, log_dir=tmp_path / "serve") as server:
        sink.status = 500
        key = set_up_paging(server.url, admin_token(env), [("webhook", f"{sink.url}/hook", None)])
        with running_workers(env, tmp_path / "logs", 1):
            post_alerts(server.url, key, alert_keys(count))
            wait_until(lambda: sink.refused >= count, 30, f"{count} refused deliveries")
            wait_until(
                lambda: tally(db_url).messages == {"pending": count}, 10, "the messages back to pending"
            )
            errors = last_errors(db_url)
            sink.status = 200  # the receiver recovers: the retries (5 s backoff) now land
            wait_until(lambda: all_delivered(sink, db_url, count), 60, f"{count} pages after the retry")
    assert errors == {"webhook answered 500: ": count}  # each failure recorded on its message
    assert assert_paged_once_each(sink, db_url, data_dir, count) == 0
    assert tally(db_url).message_attempts >= 2 * count  # each went out at least twice: refused, then taken


def last_errors(db_url: str) -> dict[str, int]:
    engine = sa.create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT last_error, count(*) FROM outgoing_messages GROUP BY 1"))
            return {str(error): int(n) for error, n in rows.all()}
    finally:
        engine.dispose()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


@pytest.mark.slow
def test_a_hanging_webhook_does_not_hold_up_email(
    db_url: str, data_dir: Path, tmp_path: Path, mailbox: Mailbox
) -> None:
    box = mailbox
    env = env_for(db_url, data_dir, WARROOM_SMTP_HOST="127.0.0.1", WARROOM_SMTP_PORT=str(box.port))
    with hanging_sink(hang=20) as hook, running_server(env, log_dir=tmp_path / "serve") as server:
        # The webhook is paged at once and hangs; the email is due 2 s later, while the webhook still hangs.
        contacts = [("webhook", hook.url, 0), ("email", "oncall@example.org", 2)]
        key = set_up_paging(server.url, admin_token(env), contacts)
        with running_workers(env, tmp_path / "logs", 1):
            try:
                posted = time.monotonic()
                post_alerts(server.url, key, ["alert-0"])
                wait_until(lambda: bool(hook.arrived), 10, "the webhook to start hanging")
                wait_until(lambda: bool(box.messages), 10, "the email")
                wait_until(lambda: tally(db_url).messages.get("sent") == 1, 5, "the email marked sent")
                states = tally(db_url).messages
            finally:
                hook.release.set()
    (received,), (hung_at,) = box.messages, hook.arrived
    arrived = received.at
    # The email arrived while the webhook was still hanging (it hangs 20 s): the order proves it was not held
    # up, with no timed bound that a loaded machine could break.
    assert hung_at < arrived and hook.answered and hook.answered[0] > arrived, (hung_at, arrived, posted)
    assert states == {"sent": 1, "sending": 1}  # the email went out while the webhook was in flight
    mail = received.mail
    assert (mail["Subject"], mail["To"]) == ("[CRITICAL] alert-0 is down", "oncall@example.org")


# Each process walks the same data dirs in step (dir N at start + N * 50 ms), creating its secret key there.
KEY_RACE = """
import sys, time
from pathlib import Path
from warroom.config import Settings
start, dirs = float(sys.argv[1]), sys.argv[2:]
for number, path in enumerate(dirs):
    while time.time() < start + number * 0.05:
        pass
    print(repr(Settings(data_dir=Path(path)).ensure_secret_key().get_secret_value()), flush=True)
"""


@pytest.mark.slow
def test_processes_started_together_on_one_data_dir_sign_with_one_key(tmp_path: Path) -> None:
    """`serve` and `worker` create the data dir's secret key lazily (a worker on its first page), so the
    processes of a fresh deployment race to create it; every one must end up with the stored key."""
    dirs = [tmp_path / f"var-{number}" for number in range(30)]
    start = time.time() + 4  # time for every interpreter to start
    command = [sys.executable, "-c", KEY_RACE, str(start), *map(str, dirs)]
    racers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=child_env({})) for _ in range(6)
    ]
    seen = [racer.communicate(timeout=60)[0].splitlines() for racer in racers]
    assert all(len(keys) == len(dirs) for keys in seen), seen
    stored = [repr((path / "secret_key").read_text().strip()) for path in dirs]
    split = [n for n, key in enumerate(stored) if key == "''" or {keys[n] for keys in seen} != {key}]
    assert split == [], (
        f"in {len(split)} of {len(dirs)} fresh data dirs a process kept a secret key other than the stored "
        f"one, or an empty one: e.g. {[sorted({keys[n] for keys in seen}) for n in split[:2]]}"
    )
