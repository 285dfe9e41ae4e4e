"""Jira: incidents and review action items as issues, kept in step both ways."""
