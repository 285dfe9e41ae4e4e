"""Drills: scenarios injected through the real intake, and reports measured against the procedure."""
