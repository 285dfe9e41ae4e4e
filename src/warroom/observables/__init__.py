"""Observables (indicators) on incidents and alerts, and the assets and attack surfaces they touch."""
