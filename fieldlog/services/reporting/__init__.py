"""Figures and files for supervisors: progress, the secretary's month, scoring, the map's
data, office exports. Reads every package below it; nothing imports it but views and `demo`.
"""
