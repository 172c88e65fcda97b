"""The floor: what managers and screens see — notices, snapshots for (re)connecting screens, statistics.

Clauses: 000 §12.3.4 and 002 §11.3.4 (indicators), 004 §8.4 (supervision of the floor).

Modules: ``notices`` (公告 on the hall screen), ``snapshots``, ``statistics``, ``service_levels`` (green / amber /
red against the hall's targets, breach alerts; issue 17), ``service_level_stats``, ``emergencies`` (the clerk's
emergency alarm).
"""
