"""The public status page: components, incidents, maintenance, uptime, subscribers (issue #7)."""
