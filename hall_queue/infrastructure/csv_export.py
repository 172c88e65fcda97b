"""The one CSV writer of every export (statistics.csv, items.csv, …): UTF-8 with a BOM, formulas neutralised.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by
Excel and LibreOffice (a hall name ``=HYPERLINK(…)`` in a manager's spreadsheet); such text cells get a
leading apostrophe, as OWASP's "CSV injection" advice says; so does text that already starts with an
apostrophe (a spreadsheet hides the first one, and the items.csv import strips it), so a value survives
the round trip. Numbers are written as they are.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(value: Any) -> Any:
    """Return ``value`` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Return ``rows`` as CSV text (CRLF, UTF-8 BOM so Excel reads Chinese), every text cell neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        w.writerow([neutralise(v) for v in row])
    return "\ufeff" + buf.getvalue()
