"""The service catalogue: items, materials (the one merged list), bundles (一件事), and its configuration.

Clauses: 000 §6.9 and §9.3.1 (一次性告知: the full materials list), 003 §3.6–§3.8 (one list, one form,
one set of materials for a bundle), 003 §5.2 (a bundle's lead department).

Modules: ``materials`` (``merged_materials`` lives here only), ``admin`` (managers' configuration of
halls, categories, items, bundles, queues, windows and staff), ``search`` (pinyin initials).
"""
