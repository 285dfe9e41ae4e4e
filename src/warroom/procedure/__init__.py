"""The incident procedure as code: schema, loader, deadline rules and Markdown rendering."""
