"""Supervisors' decisions on records (approve, return, bulk) and how a record and its versions
are shown. Imports `records`, `integrity` and the packages below them.
"""
