"""A refused form's fields named as the Chinese page labels them (never pydantic's English)."""
from __future__ import annotations

from pydantic import ValidationError


def invalid_fields(e: ValidationError, labels: dict[str, str]) -> str:
    """Name the form fields a validation error is about by their Chinese ``labels``; "" when none is known."""
    names = dict.fromkeys(labels.get(str(err["loc"][0]), "") for err in e.errors() if err.get("loc"))
    named = "、".join(n for n in names if n)
    return f"有误的项目：{named}。" if named else ""
