"""The web layer: the JSON API under /api/ (FastAPI), over the domain services."""
