"""Thin blueprints, one per audience."""
