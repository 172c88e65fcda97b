"""Feedback: 好差评 ratings with rectification of bad ones, and complaints (投诉举报).

Clauses: 003 §10.4 and 004 §8.5 (好差评, rectification within 15 working days on the hall calendar),
000 §10 and 002 §9.2 (complaints: accept, handle, answer within 5 working days, look-up by number).

Modules: ``ratings`` (ratings and rectifications), ``complaints``.
"""
