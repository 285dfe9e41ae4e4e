"""Load benchmark for warroom's API: `make bench` (or `.venv/bin/python -m bench --help`).

It starts a real server per database (SQLite, then PostgreSQL), drives it with concurrent httpx workers,
and prints throughput and latency per scenario; it measures and reports, it never asserts timings.
"""
