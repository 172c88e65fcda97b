"""Access: staff passwords and logins, device tokens, visitor identity, data keys, retention and the audit log.

Clauses: 004 §8.4 (full-process electronic supervision: the hash-chained audit log); privacy of
visitors (ID numbers stored encrypted, looked up by keyed hash, shown masked).

Modules: ``auth`` (passwords, tokens, lock-out), ``identity`` (masking, keyed hash, encryption),
``keys`` (data-key rotation), ``retention`` (purge), ``audit``.
"""
