"""The floor: what managers and screens see — notices, snapshots for (re)connecting screens, statistics,
electronic supervision and the leadership figures.

Clauses: 000 §12.3.4 and 002 §11.3.4 (indicators), 000 §12.3.5 and 002 §11.3.5 (violations), 004 §8.4
(full-process electronic supervision).

Modules: ``notices`` (公告 on the hall screen), ``snapshots``, ``statistics``, ``supervision`` (the audit log
read back, the chain check in the managers' words, violation indicators), ``leadership`` (every efficiency
indicator by month), ``service_levels`` (green / amber / red against the hall's targets, breach alerts;
issue 17), ``service_level_stats``, ``emergencies`` (the clerk's emergency alarm).
"""
