"""Alert rules: routing to services, per-service rules, maintenance windows, and triage applying them."""
