"""Refusals as the Chinese sentences staff and visitors read on the pages.

The API keeps its codes and its messages (a contract); a page says a rule's own sentence when it is Chinese,
and otherwise the page's sentence for that refusal, never the English meant for integrators.
"""
from __future__ import annotations

import re

from pydantic import ValidationError

from hall_queue.domain.errors import DomainError

_CJK = re.compile(r"[\u4e00-\u9fff]")
# An English phrase or a clause number: a message written for integrators (a product name like 税务UKey is not).
_FOREIGN = re.compile(r"§|[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")


def shown(e: DomainError, fallback: str) -> str:
    """The sentence a page shows for ``e``: its own message when it is plain Chinese, else ``fallback``."""
    return e.message if _CJK.search(e.message) and not _FOREIGN.search(e.message) else fallback


def invalid_fields(e: ValidationError, labels: dict[str, str]) -> str:
    """Name the form fields a validation error is about by their Chinese ``labels`` (never pydantic's English)."""
    names = dict.fromkeys(labels.get(str(err["loc"][0]), "") for err in e.errors() if err.get("loc"))
    named = "、".join(n for n in names if n)
    return f"有误的项目：{named}。" if named else ""
