"""Visitor identity: masking for screens/slips/logs, a keyed hash for look-ups, encryption at rest.

个人信息保护法: full ID numbers and names never appear on screens, tickets or logs.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hall_queue.domain.vocabulary import ID15_PATTERN, ID18_PATTERN

_ID18 = re.compile(ID18_PATTERN)
_ID15 = re.compile(ID15_PATTERN)


def mask_name(name: str) -> str:
    """Mask a name: ``张三丰`` → ``张*丰``, ``张三`` → ``张*``, Latin names keep each word's first letter."""
    name = name.strip()
    if not name:
        return ""
    if re.search(r"[A-Za-z]", name) and not re.search(r"[\u4e00-\u9fff]", name):
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split() if w)
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(id_number: str) -> str:
    """Mask an ID number keeping the first 6 and last 4: ``220102********1234``."""
    s = id_number.strip()
    if len(s) <= 10:
        return s[:1] + "*" * max(len(s) - 2, 0) + s[-1:] if len(s) > 2 else "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_phone(phone: str) -> str:
    s = phone.strip()
    return s[:3] + "****" + s[-4:] if len(s) >= 11 else "*" * len(s)


def normalise_id_number(id_number: str) -> str:
    return id_number.strip().upper()


def looks_like_id_number(value: str) -> bool:
    return bool(_ID18.match(value) or _ID15.match(value))


def _derive(secret: str) -> tuple[bytes, Fernet]:
    """Return (hash key, Fernet) derived from one secret; the two uses never share key material."""
    if not secret:
        raise ValueError("identity secret must not be empty")
    root = hashlib.sha256(secret.encode()).digest()
    hash_key = hmac.new(root, b"onevisit-id-hash", hashlib.sha256).digest()
    enc_key = hmac.new(root, b"onevisit-id-encrypt", hashlib.sha256).digest()
    return hash_key, Fernet(base64.urlsafe_b64encode(enc_key))


def previous_keys(value: str | None) -> tuple[str, ...]:
    """Split ``ONEVISIT_DATA_KEY_PREVIOUS`` (comma-separated, newest first) into keys."""
    return tuple(k.strip() for k in (value or "").split(",") if k.strip())


class IdentityVault:
    """Keyed hashing and encryption of personal data with keys derived from one secret.

    Key rotation (``onevisit keys rotate``): ``secret`` is the new key and encrypts and hashes
    everything from now on; ``previous`` keys (``ONEVISIT_DATA_KEY_PREVIOUS``) still decrypt
    (MultiFernet) and still match a keyed hash (``hash_matches``), so nothing breaks while rows are
    being re-encrypted.
    """

    def __init__(self, secret: str, previous: tuple[str, ...] | list[str] = ()) -> None:
        self._hash_key, fernet = _derive(secret)
        old = [_derive(k) for k in previous if k and k != secret]
        self._old_hash_keys = [h for h, _ in old]
        self._current = fernet
        self._fernet = MultiFernet([fernet] + [f for _, f in old])

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> IdentityVault:
        """Build the vault from app settings: ``DATA_KEY`` and, while rotating, ``DATA_KEY_PREVIOUS``."""
        prev = settings.get("DATA_KEY_PREVIOUS") or os.environ.get("ONEVISIT_DATA_KEY_PREVIOUS")
        return cls(str(settings["DATA_KEY"]), previous_keys(str(prev) if prev else None))

    @staticmethod
    def _hmac(key: bytes, value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def id_hash(self, id_number: str) -> str:
        """Return the keyed hash used to find the same person again without storing the number."""
        return self._hmac(self._hash_key, normalise_id_number(id_number))

    def hash_matches(self, id_number: str, stored: str) -> bool:
        """True when ``stored`` is the keyed hash of ``id_number`` under the current or a previous key."""
        value = normalise_id_number(id_number)
        return any(hmac.compare_digest(self._hmac(k, value), stored)
                   for k in [self._hash_key, *self._old_hash_keys])

    def encrypt(self, value: str) -> str:
        return self._current.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as e:
            raise ValueError("cannot decrypt: wrong key or corrupted data") from e

    def is_current(self, token: str) -> bool:
        """True when ``token`` was encrypted with the current key (rotation skips it)."""
        try:
            self._current.decrypt(token.encode())
        except InvalidToken:
            return False
        return True
