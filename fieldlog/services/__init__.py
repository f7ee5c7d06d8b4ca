"""Domain services: the only code that changes data and commits."""
