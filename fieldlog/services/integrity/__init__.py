"""Computed integrity flags: the rules, photo hashes, their wording, and the listener that
flags records after they are committed. Imports `records` and the packages below it.
"""
