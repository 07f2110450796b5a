"""Scheduled client exports: definitions in YAML, rendered from the warehouse, e-mailed exactly once."""
