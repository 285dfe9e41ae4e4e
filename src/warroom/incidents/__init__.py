"""Incidents: severity, roles, phases, tasks, status updates and the response-target clock."""
