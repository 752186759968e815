"""The web layer: middleware, templates and static files. Domains never import it."""
