"""The demo county, generated relative to the app clock's today. May import any service package.
"""
