"""Helpers every service shares: time conversions in the county's zone, geodesic distance,
and running report statements side by side. Imports no other service package.
"""
