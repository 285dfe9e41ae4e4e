"""Threat intelligence: feeds of indicators, matched against every alert and incident observable."""
