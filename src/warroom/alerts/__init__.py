"""Alerts: intake from real senders, deduplication, grouping, routing and rules."""
