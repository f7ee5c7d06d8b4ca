"""Helpers every service shares: time conversions in the county's zone, geodesic distance,
running report statements side by side, and spreadsheets (bounded reading, export cells).
Imports no other service package.
"""
