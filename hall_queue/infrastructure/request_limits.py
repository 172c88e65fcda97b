"""Central limits on what a request may carry, for the server and the kiosk agent (issue 13, finding 9).

- JSON nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed: Python's parser recurses,
  and ``[`` × 1000 raised RecursionError (a 500). Refused JSON reads as "not JSON", so every endpoint
  answers its usual 400 ``malformed_json`` (``get_json(silent=True)``) or a JSON 400 (strict parsing).
- Integer query parameters (``request.args.get(name, type=int)``) outside ±MAX_ID (2³¹ − 1: ids are int4 on
  PostgreSQL) answer 400 instead of overflowing the database driver (``?window_id=99999999999999999999`` was
  a 500, and ``?window_id=2147483648`` still was on PostgreSQL).
- A URL holding U+0000 (``%00`` in its path or query) answers 400: PostgreSQL's text cannot hold it, and a
  follow code, an appointment code or a filter with one reached the driver as a 500 there (SQLite took it).
  JSON bodies are checked by the API's ``operation`` (a 422 naming the rule).
- An ``<int:…>`` id in a URL path is ASCII digits up to MAX_ID, or the route does not match (404): pages look
  their ids up without the API's own range check, and ``/book/99999999999999999999`` overflowed the driver
  (a 500; ``/tickets/2147483648`` too, on PostgreSQL); ``\\d`` also matched Arabic-Indic digits
  (``/tickets/١٢٣`` read ticket 123).
- A body that cannot be read (a chunked body with a bad chunk size, a cut connection) answers 400: the
  server's reader raised its own parse error from ``get_data`` and that was a 500.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.utils import cached_property
from werkzeug.routing import IntegerConverter

from hall_queue.domain.vocabulary import MAX_ID

try:  # what gunicorn's body reader raises on a malformed chunked body (not an OSError)
    from gunicorn.http.errors import ParseException as _ServerParseError
except ImportError:  # the kiosk PC or the dev server without gunicorn
    _ServerParseError = OSError

MAX_JSON_DEPTH = 32
MAX_QUERY_INT = MAX_ID
# The longest form value a redirect carries back to its page (a matter key, a date): longer ones name nothing,
# and a 70,000-character ``matter`` went whole into the Location header, which clients and proxies refuse.
ECHO_MAX = 40


def echoed(value: str | None) -> str | None:
    """A form's value fit to ride a redirect back to its page, or None when too long to name anything."""
    return None if isinstance(value, str) and len(value) > ECHO_MAX else value
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH (a ValueError, so callers treat it as malformed JSON)."""


def json_depth(text: str) -> int:
    """Return how deeply arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads_limited(data: str | bytes | bytearray, **kwargs: Any) -> Any:
    """``json.loads`` that refuses nesting deeper than MAX_JSON_DEPTH with :class:`TooDeep`."""
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    # Nesting never goes deeper than the brackets that open it: a body with few of them needs no scan (the
    # scan's regular expressions over a ticket's Chinese text cost more than the parse, issue 19).
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and json_depth(text) > MAX_JSON_DEPTH:
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(data, **kwargs)


class LimitedJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_limited(s, **kwargs)


def _query_int(value: Any) -> int:
    if not str(value).isascii():  # int() reads Arabic-Indic and fullwidth digits too: "١٢٣" is no id
        raise ValueError(value)
    number = int(value)  # ValueError (not a number) → werkzeug returns the default, as before
    if not -MAX_QUERY_INT <= number <= MAX_QUERY_INT:
        raise BadRequest(f"query parameter {value[:30]!r} is out of range")
    return number


class LimitedArgs(ImmutableMultiDict):
    """Query parameters whose ``get(name, type=int)`` refuses numbers a database cannot hold."""

    def get(self, key, default=None, type=None):
        return super().get(key, default, _query_int if type is int else type)


class LimitedValues(CombinedMultiDict):
    """``request.values`` (query and form together) with the same ``get(name, type=int)`` as LimitedArgs.

    werkzeug's CombinedMultiDict converts by itself instead of asking its parts: ``?hall_id=2**63`` through
    ``request.values`` reached the driver (a 500 on the appointment pages)."""

    def get(self, key, default=None, type=None):
        return super().get(key, default, _query_int if type is int else type)


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: ASCII digits only (``\\d`` also matched ``١٢٣``). A number above MAX_ID still matches,
    as MAX_ID + 1, and :func:`refuse_ids_out_of_range` answers 404 for it: refusing it here (ValidationError)
    made werkzeug answer 405 wherever the same path has a rule for another method."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> Any:
        return int(value) if len(value) <= 10 else MAX_ID + 1  # int() of 5,000 digits is slow, then refused


_UNREADABLE = "the request body could not be read (a broken chunked encoding or a cut connection)"


class LimitedRequest(Request):
    parameter_storage_class = LimitedArgs

    @cached_property
    def values(self) -> CombinedMultiDict:
        return LimitedValues(super().values.dicts)

    def get_data(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get_data(*args, **kwargs)
        except (OSError, _ServerParseError) as e:
            raise BadRequest(_UNREADABLE) from e

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except (OSError, _ServerParseError) as e:
            raise BadRequest(_UNREADABLE) from e


def refuse_nul_in_url() -> None:
    """Refuse a URL whose path or query holds U+0000 (a ``before_request`` hook; cheap: no query parsing)."""
    if "\x00" in request.path or b"%00" in request.query_string:
        raise BadRequest("the URL may not contain the NUL character (%00)")


def refuse_ids_out_of_range() -> None:
    """Answer 404 for an ``<int:…>`` id no row can have (a ``before_request`` hook, before any lookup)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound(f"no such id (ids are at most {MAX_ID})")


def install(app: Flask) -> None:
    """Apply the limits to ``app`` (the queue server and the kiosk agent)."""
    app.json = LimitedJSONProvider(app)
    app.request_class = LimitedRequest
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules
    app.before_request(refuse_nul_in_url)
    app.before_request(refuse_ids_out_of_range)
