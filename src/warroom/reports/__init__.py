"""Anyone signed in reports a problem: a triage incident, its service's on-call paged."""
