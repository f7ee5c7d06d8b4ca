"""Households of each village: the register (import, export, edits) and visit coverage over a
term. Imports `common`, `people`, `org`.
"""
