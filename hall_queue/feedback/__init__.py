"""Feedback: 好差评 ratings with rectification of bad ones, complaints (投诉举报), consultation records (咨询)
and the published corrective measures.

Clauses: 003 §10.4 and 004 §8.5 (好差评, rectification within 15 working days on the hall calendar),
000 §10 and 002 §9.2 (complaints: accept, handle, answer within 5 working days, look-up by number),
000 §10.4 (corrective measures published), 000 §7.1–§7.4 and 002 §9.1 (consultations; 咨询回复率 and 及时率
of 002 §11.3.4 g).

Modules: ``ratings`` (ratings and rectifications), ``complaints``, ``consultations``, ``measures``.
"""
