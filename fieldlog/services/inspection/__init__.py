"""Inspectors' work: seeded stratified samples, phone-callback and site checks, findings.
Imports `records`, `integrity`, `review` and the packages below them.
"""
