"""The integration doctor: does each configured integration still work, and if not, why and how to fix it."""
