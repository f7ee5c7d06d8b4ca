"""The org tree (county → township → village) and each county's settings (attendance threshold,
leave chain, scoring rubric). Imports `common` and `people`.
"""
