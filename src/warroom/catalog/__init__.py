"""The service catalog: what can be affected by an incident, and who owns it."""
