"""Users, teams, API tokens and the role model."""
