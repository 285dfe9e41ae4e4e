"""The paging engine: escalations driven by database rows, so restarts and extra workers lose nothing."""
