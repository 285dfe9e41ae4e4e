"""Backups that restore: online snapshots (`warroom backup`) and the versioned JSON-lines export that moves a
whole organisation between SQLite and PostgreSQL (`warroom export` / `warroom import`).

It reads every table through `warroom.models`, so it sits beside it, below the CLI; no domain imports it.
"""
