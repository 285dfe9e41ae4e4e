"""Evidence files: content-addressed, never served inline, each access on the chain of custody."""
