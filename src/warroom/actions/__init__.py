"""Playbook actions: signed calls to the organisation's own automation, run as durable jobs."""
