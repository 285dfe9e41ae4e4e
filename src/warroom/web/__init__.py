"""The web UI: server-rendered pages (Jinja2), a little plain JavaScript, server-sent events for live
parts."""
