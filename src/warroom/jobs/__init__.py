"""Durable jobs: every side effect that can fail later is a row with a state, attempts and its last error."""
