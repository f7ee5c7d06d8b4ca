"""Column helpers shared by the models."""
from fieldlog.clock import utcnow

__all__ = ["utcnow"]  # models and services import the stored form of "now" from here
