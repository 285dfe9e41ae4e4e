"""Contact methods, personal notification rules, and outgoing messages delivered through channels."""
