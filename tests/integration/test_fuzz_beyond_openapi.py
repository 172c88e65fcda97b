"""An adversarial fuzzer for what schemathesis (test_fuzz_openapi.py) does not reach, against the real server.

schemathesis sends what the OpenAPI document describes, in-process. This module runs ``onevisit run`` (gunicorn)
on a demo hall and sends, to **every** Flask URL rule (``app.url_map``: pages, the kiosk agent, admin forms,
static files, not only ``/api/v1``), what a hostile client or a broken integration sends: bodies of the wrong
type or encoding (invalid UTF-8, JSON that is not an object, NaN, 1e400, 2**70, duplicate keys, U+0000, lone
surrogates, RTL marks, deep nesting, form data where JSON is expected), odd path ids (0, -1, 2**63, Arabic-Indic
digits, very long), odd query strings (repeated keys, huge or negative limits, 2026-02-30, 9999-12-31), bad
headers (other schemes, other roles' tokens, long or non-ASCII Idempotency-Key, garbage Accept-Language and
If-None-Match), raw-socket framing (Content-Length larger or smaller than the body, chunked bodies), and
Socket.IO clients with bad auth and wrongly typed events. Two deeper passes: every OpenAPI operation with a JSON
body gets a body its schema mostly accepts whose strings are poisoned (lone surrogates, bidi marks, astral
characters, 70,000 characters), and every page form reachable from SEED_PAGES (staff and phone pages) is posted
with its own CSRF token and hostile field values.

The contract checked, on SQLite and on PostgreSQL: never a 5xx; an answer under ``/api/`` or ``/kiosk/agent/``
that refuses is JSON ``{"error": {"code", "message"}}``; the worker survives (``/healthz``), and its log holds no
traceback. The run is seeded (``ONEVISIT_FUZZ2_SEED``) and bounded (``ONEVISIT_FUZZ2_ROUNDS`` poisoned bodies per
operation, twice that per form; ``ONEVISIT_FUZZ2_SECONDS`` for the
URL-rule pass and the crawl; explore with a larger budget and other seeds).
"""
from __future__ import annotations

import json
import os
import random
import re
import socket
import time
from urllib.parse import quote

import pytest
import requests
import socketio

from tests.conftest import drop_postgres_database, engines, new_postgres_database
from tests.server import ServerProcess, prepared_instance

SEED = int(os.environ.get("ONEVISIT_FUZZ2_SEED", "20261207"))
BUDGET_S = float(os.environ.get("ONEVISIT_FUZZ2_SECONDS", "8"))  # per engine, for the URL-rule pass
TIMEOUT = 15
ROUNDS = int(os.environ.get("ONEVISIT_FUZZ2_ROUNDS", "4"))  # poisoned bodies per operation with a JSON body
FORM_ROUNDS = 2 * ROUNDS  # poisoned posts per page form

# ---------------------------------------------------------------- what goes in

INT_IDS = ["0", "-1", "1", "2", "3", str(2**31 - 1), str(2**31), str(2**32), str(2**40), str(2**63), str(2**64 + 1), "9" * 40, "١٢٣", "１２", "1.5", "1e3",
           "abc", "%00", "%E2%80%AE1", "1" * 300, "9" * 5000, "%201", "0x10", "1_000"]
STRINGS = ["", "x", "A" * 5000, "%00", "%C3%28", "%ED%A0%80", "..%2F..%2Fetc%2Fpasswd", "%E2%80%AE", "中文",
           "a%20b", "%F0%9F%98%80", "~!@$^&*()", "..", "CON", "a.jpg", "%2e%2e"]
STATIC_NAMES = ["..%2F..%2Fhall_queue%2Fconfig.py", "%00.js", "a%C3%28.css", "%ED%A0%80.js", "x" * 3000, "..", "%2e%2e/%2e%2e",
                "ov.js%3F", "%E2%80%AEsj.exe", "index.html/", "//etc/passwd", "a\\..\\b", "%5C..%5Cb"]
QUERY_KEYS = ["limit", "offset", "page", "size", "date", "day", "from", "to", "since", "until", "start", "end",
              "hall", "hall_id", "window", "window_id", "status", "q", "text", "next", "code", "idle", "refresh",
              "lang", "format", "item_id", "bundle_id", "id", "phone", "month", "year", "kind", "days", "rate",
              "data", "url", "path", "department_id", "queue_id", "index", "n", "wait", "since_id", "cursor", "matter",
              "layout", "voice", "token", "number", "acceptance_no"]
QUERY_VALUES = ["-1", "0", "1", str(2**63), "1e400", "nan", "inf", "-inf", "2026-02-30", "9999-12-31", "0000-00-00",
                "2026-03-02T10:00:00+14:00", "2026-03-02T10:00:00Z", "2026-13-01", "١٢٣", "", "%00", "%ED%A0%80",
                "%C3%28", "A" * 3000, "true", "[]", "{}", "null", "2026-03-02", "1.5", "+8", "%E2%80%AE", "/t/..%2F..%2Fadmin",
                "javascript:alert(1)", "%2F%2Fevil.example%2F", "/book/1%0D%0ASet-Cookie:x", "zh", "en", "wide", "1e-400"]
HEADERS_BAD = [
    {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
    {"Authorization": "bearer ovk_nope"}, {"Authorization": "Bearer " + "x" * 5000},
    {"Authorization": "Bearer \u00e9\u00e9"}, {"Authorization": "Token abc"}, {"Authorization": "Bearer a b c"},
    {"Idempotency-Key": "k" * 2000}, {"Idempotency-Key": "\u00e9t\u00e9"}, {"Idempotency-Key": ""},
    {"Idempotency-Key": "k\u00a0" * 40}, {"Accept-Language": "zz-ZZ;q=abc, *;q=-1, en;q=9"}, {"Accept-Language": "\u00ff" * 50},
    {"If-None-Match": "garbage\"\"W/"}, {"If-None-Match": "*"}, {"If-Modified-Since": "yesterday"},
    {"Range": "bytes=9-1"}, {"Accept": "application/xml"}, {"X-Request-ID": "\u00ff" * 300},
    {"X-CSRF-Token": "nope"}, {"Origin": "null"}, {"Cookie": "session=garbage; ov_kiosk_key=\u00ff"},
    {"Content-Encoding": "gzip"}, {"Transfer-Encoding": "identity"},
]
JSON_BODIES = [
    "[]", "[1, 2]", "0", "-1", "1e400", str(2**70), "\"text\"", "null", "true", "NaN", "Infinity", "-Infinity",
    "{}", '{"a": 1, "a": 2}', "[" * 200 + "]" * 200, '{"x":' * 200 + "1" + "}" * 200, "{", "{\"a\": }", "",
]
FIELD_VALUES = [None, True, 0, -1, 2**70, 2**63, 2**31, 2**40, 1e308, "1e400", float("nan"), "NaN", "", "x" * 20000, "\u0000",
                "a\u0000b", "\ud800", "\u202e\u4e2d\u6587", "\u200f\u0627\u0644\u0627\u0633\u0645", [], {}, [1, "a"],
                {"$gt": ""}, "2026-02-30", "9999-12-31T23:59:59+14:00", "١٢٣", "12345678901234567890", "<script>",
                "' OR 1=1 --", "=cmd|' /C calc'!A0"]
FIELD_NAMES = ["name", "username", "password", "item_ids", "bundle_id", "phone", "id_number", "request_id", "code",
               "text", "content", "date", "slot", "start", "end", "reason", "score", "rating", "window_id", "queue_id",
               "ticket_id", "hall_id", "comment", "prefix", "title", "kind", "status", "capacity", "note", "card",
               "with_identity", "green_reason", "age", "department_id", "minutes", "level", "token", "csrf_token",
               "result", "answer", "role", "items", "index", "value", "mode", "url", "ok"]


def _dumps(obj) -> str:
    """JSON with NaN/Infinity as Python writes them; a lone surrogate written as an escape."""
    return json.dumps(obj, ensure_ascii=True, allow_nan=True)


def _random_object(rng: random.Random) -> dict:
    return {rng.choice(FIELD_NAMES): rng.choice(FIELD_VALUES) for _ in range(rng.randint(1, 6))}


def _body(rng: random.Random) -> tuple[bytes | None, str | None]:
    """(raw body, Content-Type) of one hostile request."""
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(JSON_BODIES).encode(), "application/json"
    if kind in (1, 2):
        return _dumps(_random_object(rng)).encode(), "application/json"
    if kind == 3:  # invalid UTF-8 inside a JSON string, or as the whole body
        return rng.choice([b'{"name": "\xff\xfe"}', b"\xc3\x28", b'{"a": "\xed\xa0\x80"}', b"\x00" * 10]), \
            rng.choice(["application/json", "application/json; charset=utf-8", "text/plain"])
    if kind == 4:  # form where JSON is expected (and forms for the pages)
        obj = _random_object(rng)
        return "&".join(f"{quote(k)}={quote(str(v).encode('utf-8', 'surrogatepass'), safe='')}"
                        for k, v in obj.items()).encode(), \
            "application/x-www-form-urlencoded"
    if kind == 5:
        return _dumps(_random_object(rng)).encode(), rng.choice(
            ["text/plain", "application/xml", "multipart/form-data", "multipart/form-data; boundary=x",
             "application/json; charset=latin-1", "application/json; charset=\u00ff", "application/vnd.x+json", ""])
    if kind == 6:  # a multipart body with odd parts
        b = (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xff\xfe.jpg\"\r\n"
             b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\x00\r\n--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n"
             b"\xed\xa0\x80\r\n--x--\r\n")
        return b, rng.choice(["multipart/form-data; boundary=x", "multipart/form-data; boundary=y"])
    if kind == 7:
        return None, None
    return json.dumps([_random_object(rng)]).encode(), "application/json"


# ---------------------------------------------------------------- the server

@pytest.fixture(scope="module", params=engines())
def server(request, tmp_path_factory):
    """``onevisit run`` on the demo hall (as ``init`` + ``demo``), on SQLite and on PostgreSQL."""
    instance = tmp_path_factory.mktemp(f"fuzz2-{request.param}")
    # Plain HTTP: the staff session cookie must not be Secure-only, or the browser session keeps no cookie.
    env = {"ONEVISIT_COOKIE_SECURE": "0"}
    url = None
    if request.param == "postgresql":
        url = new_postgres_database(migrated=True)  # as `onevisit init` leaves it
        env["DATABASE_URL"] = url
    srv = ServerProcess(prepared_instance(instance, demo=True) if url is None else instance, env=env)
    if url is not None:
        srv.cli("demo")
    srv.tokens = json.loads((srv.instance / "demo-tokens.json").read_text())
    srv.start(timeout=90)
    # Staff logged in once, before any test: the fuzz may change their passwords or lock them out later.
    srv.bearers = {**{k: v for k, v in srv.tokens.items() if isinstance(v, str)}, **_staff_bearers(srv.url)}
    srv.browser = _browser(srv.url, "admin")
    yield srv
    srv.stop()
    if url is not None:
        drop_postgres_database(url)


def _rules(tmp_path) -> list[tuple[str, str, dict]]:
    """Every (method, rule, converters) of the app, read from a throw-away app's url_map."""
    from hall_queue import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'rules.db'}", "TESTING": True, "DATA_KEY": "fuzz"})
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule, {name: type(conv).__name__ for name, conv in rule._converters.items()}))
    return sorted(out)


def _staff_bearers(base: str) -> dict[str, str]:
    from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD

    out = {}
    for name in ("admin", "manager", "clerk01"):
        r = requests.post(f"{base}/api/v1/auth/login", json={"username": name, "password": DEMO_PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        out[name] = r.json()["token"]
    return out


def _browser(base: str, username: str) -> tuple[requests.Session, str]:
    """A staff browser session logged in through /admin/login, and its CSRF secret."""
    from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD

    s = requests.Session()
    page = s.get(f"{base}/admin/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = s.post(f"{base}/admin/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf},
               timeout=30, allow_redirects=False)
    assert r.status_code in (302, 303), r.text[:300]
    page = s.get(f"{base}/admin/console", timeout=30).text
    return s, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _fill(rule: str, converters: dict, rng: random.Random, hall_id: int) -> str:
    def value(m: re.Match) -> str:
        name = m.group(2)
        conv = converters.get(name, "")
        if conv == "IntegerConverter":
            if name == "hall_id" and rng.random() < 0.5:
                return str(hall_id)
            return rng.choice(INT_IDS)
        if conv == "PathConverter":
            return rng.choice(STATIC_NAMES)
        return rng.choice(STRINGS)
    return re.sub(r"<(?:([a-z]+):)?([a-z_]+)>", value, rule)


def _query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(QUERY_KEYS)
        if rng.random() < 0.2:
            key += "[]"
        for _ in range(rng.choice([1, 1, 2, 3])):  # repeated keys
            parts.append(f"{key}={rng.choice(QUERY_VALUES)}")
    return ("?" + "&".join(parts)) if parts else ""


def _is_error_json(body: bytes) -> bool:
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    err = doc.get("error") if isinstance(doc, dict) else None
    return isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str)


def _raw(port: int, head: bytes, body: bytes = b"", *, read_timeout: float = 5.0) -> bytes:
    """Send bytes as they are (framing errors requests would not let us make); return what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(head + body)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except socket.timeout:
            pass
    return b"".join(chunks)


def _status(raw: bytes) -> int | None:
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


class Findings:
    def __init__(self) -> None:
        self.items: dict[str, str] = {}  # one example per (method, rule, status)
        self.sent = 0
        self.statuses: dict[int, int] = {}

    def record(self, key: str, detail: str) -> None:
        self.items.setdefault(key, detail[:600])


def _check(found: Findings, method: str, rule: str, url: str, status: int, body: bytes, ctype: str, what: str) -> None:
    found.sent += 1
    found.statuses[status] = found.statuses.get(status, 0) + 1
    if status >= 500:
        found.record(f"{status} {method} {rule}", f"{method} {url} [{what}] -> {status} {body[:200]!r}")
    elif status >= 400 and (url.startswith("/api/") or url.startswith("/kiosk/agent/")) and not _is_error_json(body):
        found.record(f"shape {method} {rule}", f"{method} {url} [{what}] -> {status} {ctype} {body[:200]!r}")


def test_every_url_rule_survives_hostile_requests(server, tmp_path):
    rng = random.Random(SEED)
    base = server.url
    rules = _rules(tmp_path)
    hall_id = 1
    bearers = server.bearers
    browser, csrf = server.browser
    found = Findings()
    started = time.monotonic()
    rounds = 0
    # A first pass gives every rule one request; later passes spend what is left of the budget at random.
    while time.monotonic() - started < BUDGET_S:
        order = rules if rounds == 0 else rng.sample(rules, len(rules))
        for method, rule, converters in order:
            if time.monotonic() - started > BUDGET_S:
                break
            if rule.startswith("/kiosk/agent/events") or rule in ("/api/v1/auth/logout", "/admin/logout"):
                continue  # a stream that never ends; logging out the fuzzer's own tokens
            url = _fill(rule, converters, rng, hall_id) + _query(rng)
            body, ctype = _body(rng) if method != "GET" or rng.random() < 0.2 else (None, None)
            headers = dict(rng.choice(HEADERS_BAD)) if rng.random() < 0.3 else {}
            who = rng.choice(["none", "browser", *sorted(bearers)])
            session = browser if who == "browser" else requests
            if who == "browser" and rng.random() < 0.8:
                headers.setdefault("X-CSRF-Token", csrf)
            elif who not in ("none", "browser") and "Authorization" not in headers:
                headers["Authorization"] = f"Bearer {bearers[who]}"
            if ctype is not None:
                headers["Content-Type"] = ctype
            if method == "POST" and rule.startswith("/admin/") and who == "browser" and rng.random() < 0.7:
                body = (f"csrf_token={quote(csrf)}&" + (body or b"").decode("latin-1")).encode("latin-1")
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            try:
                r = session.request(method, base + url, data=body, headers={k: v.encode("utf-8").decode("latin-1")
                                                                            for k, v in headers.items()},
                                    timeout=TIMEOUT, allow_redirects=False, stream=True)
                content = r.raw.read(200_000, decode_content=False)
                r.close()
            except requests.RequestException as e:
                found.record(f"conn {method} {rule}", f"{method} {url} [{who} {headers}] -> {type(e).__name__}: {e}")
                continue
            _check(found, method, rule, url, r.status_code, content, r.headers.get("Content-Type", ""),
                   f"{who} {headers} {(body or b'')[:80]!r}")
        rounds += 1
    print(f"\nfuzz beyond openapi: seed {SEED}, {found.sent} requests over {len(rules)} (method, rule) pairs in "
          f"{rounds} passes, {time.monotonic() - started:.0f} s; answers by status: {dict(sorted(found.statuses.items()))}")
    problems = _server_is_well(server, found)
    assert not problems, "\n".join(problems)


# Strings a valid body may carry, meant to reach the database: lone surrogates (JSON ``\\ud800`` escapes parse to
# them), bidi controls, a BOM, characters outside the BMP, line breaks, and text longer than any column.
POISON = ["\ud800", "a\udfffb", "\u202e\u4e2d\u6587", "\u200f\u0627\u0644", "\ufeff", "\U00020000\U0001F600", "\r\n",
          " ", "x" * 70000, "\\", "%s%n", "\u4e2d" * 300, "0" * 64]


def _resolve(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _valid_ish(schema: dict, doc: dict, rng: random.Random, depth: int = 0):
    """A value the schema accepts, as best a few rules can tell, with some strings poisoned (POISON)."""
    schema = _resolve(schema, doc)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, doc).get("type") != "null"] or schema[key]
            return _valid_ish(rng.choice(options), doc, rng, depth)
    if "allOf" in schema:
        return _valid_ish(schema["allOf"][0], doc, rng, depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", ()))
        return {name: _valid_ish(sub, doc, rng, depth + 1) for name, sub in schema.get("properties", {}).items()
                if name in required or (depth < 3 and rng.random() < 0.5)}
    if kind == "array":
        return [_valid_ish(schema.get("items", {}), doc, rng, depth + 1) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        return rng.choice([max(schema.get("minimum", 1), 1), 1, 2, 3])
    if kind == "number":
        return rng.choice([1, 1.5, schema.get("minimum", 0)])
    if kind == "boolean":
        return rng.random() < 0.5
    fmt = schema.get("format", "")
    if rng.random() < 0.6:
        return rng.choice(POISON)
    examples = schema.get("examples") or ([schema["example"]] if "example" in schema else [])
    if examples:
        return examples[0]
    return {"date": "2026-03-03", "date-time": "2026-03-02T10:00:00+08:00", "time": "10:00"}.get(
        fmt, "\u6d4b\u8bd5" * max(1, schema.get("minLength", 1)))


def test_valid_bodies_with_poisoned_strings(server):
    """Every operation with a JSON body, as its least privileged caller: a body the schema mostly accepts, whose
    strings hold lone surrogates, bidi marks, astral characters or 70,000 characters. 4xx or 2xx, never 5xx."""
    rng = random.Random(SEED + 1)
    doc = requests.get(f"{server.url}/api/v1/openapi.json", timeout=TIMEOUT).json()
    bearers = server.bearers
    found = Findings()
    started = time.monotonic()
    operations = [(path, method.upper(), op) for path, ops in doc["paths"].items() for method, op in ops.items()
                  if "requestBody" in op and not path.endswith("/auth/logout")]
    for _ in range(ROUNDS):
        for path, method, op in operations:
            if time.monotonic() - started > BUDGET_S:
                break
            roles = op.get("x-roles", ["public"])
            who = next((r if r != "clerk" else "clerk01" for r in ("kiosk", "screen", "pad", "manager", "clerk", "admin")
                        if r in roles and (r if r != "clerk" else "clerk01") in bearers), None) \
                if "public" not in roles else None
            url = re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1) == "hall_id" else str(rng.choice([1, 2, 3, 5, 8])),
                         path)
            schema = op["requestBody"]["content"].get("application/json", {}).get("schema", {})
            body = json.dumps(_valid_ish(schema, doc, rng), ensure_ascii=True)
            headers = {"Content-Type": "application/json"}
            if who:
                headers["Authorization"] = f"Bearer {bearers[who]}"
            try:
                r = requests.request(method, server.url + url, data=body.encode(), headers=headers, timeout=TIMEOUT)
            except requests.RequestException as e:
                found.record(f"conn {method} {path}", f"{method} {url}: {type(e).__name__}: {e}")
                continue
            _check(found, method, path, url, r.status_code, r.content, r.headers.get("Content-Type", ""),
                   f"{who} {body[:300]}")
    print(f"\npoisoned bodies: {found.sent} requests over {len(operations)} operations; "
          f"answers by status: {dict(sorted(found.statuses.items()))}")
    problems = _server_is_well(server, found)
    assert not problems, "\n".join(problems)


SEED_PAGES = ["/admin/", "/admin/console", "/admin/dashboard", "/admin/appointments", "/admin/appointments/capacity",
              "/admin/appointments/holidays", "/admin/appointments/no-shows", "/admin/complaints", "/admin/config",
              "/admin/callbacks", "/admin/cases", "/admin/ratings", "/admin/stats", "/admin/audit", "/admin/measures",
              "/admin/consultations", "/admin/leadership", "/book/1", "/book/1/cancel", "/complaints/new?hall=demo",
              "/complaints/status", "/consult/new?hall=demo", "/consult/status", "/measures?hall=demo", "/kiosk/"]
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_FIELD = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def _forms(html: str, page: str) -> list[tuple[str, dict[str, str]]]:
    """The POST forms of a page: (action, {field name: its value in the page})."""
    out = []
    for attrs, inner in _FORM.findall(html):
        a = dict(_ATTR.findall(attrs))
        if a.get("method", "get").lower() != "post":
            continue
        fields = {}
        for _tag, field_attrs in _FIELD.findall(inner):
            f = dict(_ATTR.findall(field_attrs))
            if "name" in f:
                fields[f["name"]] = f.get("value", "")
        action = a.get("action") or page
        out.append((action.replace("&amp;", "&"), fields))
    return out


def test_page_forms_with_poisoned_fields(server):
    """Crawl the staff pages and the phone pages from SEED_PAGES (same-site links, bounded), then post every form
    found with its own CSRF token and each other field replaced, now and then, by a hostile value. Never a 5xx."""
    rng = random.Random(SEED + 2)
    try:  # a fresh staff session: an earlier test's fuzz may have ended the first one
        browser, _csrf = _browser(server.url, "admin")
    except (AssertionError, AttributeError):  # … or changed the password: the pages then show the public forms and the login form
        browser, _csrf = server.browser
    found = Findings()
    started = time.monotonic()
    seen, queue, forms = set(), list(SEED_PAGES), {}
    while queue and len(seen) < 80 and time.monotonic() - started < BUDGET_S:
        page = queue.pop(0)
        path, _, query = page.partition("?")
        shape = (re.sub(r"\d+", "N", path), tuple(sorted(k.split("=")[0] for k in query.split("&") if k)))
        if shape in seen or "logout" in page or "/static/" in page:
            continue  # one page of each shape: /book/1/slots?matter=i1 stands for the 30 others
        seen.add(shape)
        r = browser.get(server.url + page, timeout=TIMEOUT, allow_redirects=False)
        _check(found, "GET", page.split("?")[0], page, r.status_code, r.content, r.headers.get("Content-Type", ""), "crawl")
        if "html" not in r.headers.get("Content-Type", ""):
            continue
        for link in re.findall(r'href="(/(?:admin|book|complaints|consult|measures|guide|t|r|c)[^"#]*)"', r.text):
            queue.append(link.replace("&amp;", "&"))
        for action, fields in _forms(r.text, page):
            if "logout" not in action:
                forms.setdefault(action.split("?")[0], (action, fields))
    hostile = [*POISON[:-1], "", "-1", "0", str(2**31), str(2**63), "2026-02-30", "9999-12-31", "25:61", "\u0661\u0662", "NaN",
               "1e400", "<script>alert(1)</script>", "=1+1", "1\u0663\u0668\u0660\u0660\u0661\u0663\u0668\u0660\u0660\u0660"]
    for _ in range(FORM_ROUNDS):
        for action, fields in forms.values():
            data = {k: (rng.choice(hostile) if k != "csrf_token" and rng.random() < 0.6 else v) for k, v in fields.items()}
            if rng.random() < 0.2:
                data[rng.choice(FIELD_NAMES)] = rng.choice(hostile)
            body = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in data.items())
            r = browser.post(server.url + action, data=body.encode(), timeout=TIMEOUT, allow_redirects=False,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
            _check(found, "POST", action.split("?")[0], action, r.status_code, r.content,
                   r.headers.get("Content-Type", ""), body[:300])
    print(f"\npage forms: {len(seen)} pages crawled, {len(forms)} forms, {found.sent} requests; "
          f"answers by status: {dict(sorted(found.statuses.items()))}")
    assert len(forms) >= 3, sorted(forms)
    problems = _server_is_well(server, found)
    assert not problems, "\n".join(problems)


def _server_is_well(server, found: Findings) -> list[str]:
    """The findings, plus a dead worker or the tracebacks this test left in the server's log."""
    problems = list(found.items.values())
    if requests.get(f"{server.url}/healthz", timeout=TIMEOUT).status_code != 200:
        problems.append("/healthz does not answer 200 any more")
    with open(server.log, "rb") as f:
        f.seek(getattr(server, "log_seen", 0))
        log = f.read().decode("utf-8", "replace")
        server.log_seen = f.tell()
    seen = set()
    for m in re.finditer(r"(?m)^.*(?:error|Error).*\n(Traceback.*\n(?:[ \t].*\n)*)(.*)", log):
        where = re.findall(r'File "([^"]*(?:hall_queue|kiosk|hall_admin|display|devices)/[^"]*)", line (\d+), in (\w+)', m.group(1))
        key = (m.group(0).split("\n", 1)[0][-120:], m.group(2)[:160])
        if key not in seen:
            seen.add(key)
            problems.append(f"server log: {key[0]} | {where[-1:] if where else ''} | {key[1]}")
    return problems


def test_framing_errors(server):
    """Content-Length that lies, chunked bodies, bytes that are not UTF-8: the worker answers or closes, never 500."""
    found = Findings()
    _framing(server.port, found)
    print(f"\nframing: {found.sent} requests; answers by status: {dict(sorted(found.statuses.items()))}")
    problems = _server_is_well(server, found)
    assert not problems, "\n".join(problems)


def test_socketio_bad_auth_and_wrong_payloads(server):
    """Bad auth is refused; a joined client's wrongly typed events get an error answer, not a dead worker."""
    found = Findings()
    _sockets(server.url, server.bearers, found)
    print(f"\nsocket.io: {found.sent} events")
    problems = _server_is_well(server, found)
    assert not problems, "\n".join(problems)


def _framing(port: int, found: Findings) -> None:
    def head(request_line: str, *fields: str) -> bytes:
        return "\r\n".join([request_line + " HTTP/1.1", f"Host: 127.0.0.1:{port}", *fields, "Connection: close",
                             "", ""]).encode("latin-1")

    json_type, form_type, chunked = "Content-Type: application/json", \
        "Content-Type: application/x-www-form-urlencoded", "Transfer-Encoding: chunked"
    cases = [
        (head("POST /api/v1/auth/login", json_type, "Content-Length: 100"), b'{"username": "admin"}'),
        (head("POST /api/v1/auth/login", json_type, "Content-Length: 2"), b'{"username": "admin", "password": "x"}'),
        (head("POST /api/v1/halls/1/tickets", json_type, chunked), b'5\r\n{"ite\r\n3\r\nm":\r\n0\r\n\r\n'),
        (head("POST /api/v1/halls/1/complaints", json_type, chunked), b"zz\r\n{}\r\n0\r\n\r\n"),
        (head("POST /complaints/new", form_type, chunked), b"zz\r\n{}\r\n0\r\n\r\n"),
        (head("POST /api/v1/auth/login", json_type, "Content-Length: 0"), b""),
        (head("POST /kiosk/agent/tickets", json_type, "Content-Length: 1"), b"{"),
        (head("POST /complaints/new", form_type, "Content-Length: 50"), b"text=%ff%fe"),
        (head("POST /api/v1/halls/1/tickets", json_type, "Content-Length: 5", chunked), b"0\r\n\r\n"),
        (head("GET /api/v1/halls/1/catalog?limit=%ff"), b""),
        (head("GET /t/\xff\xfe"), b""),
        (head("GET /api/v1/auth/me", "Authorization: Bearer \xff\xfe"), b""),
        (head("GET /healthz").replace(f"Host: 127.0.0.1:{port}".encode(), b"Host: \xff"), b""),
    ]
    for request_head, body in cases:
        raw = _raw(port, request_head, body)
        status = _status(raw)
        first = request_head.split(b"\r\n", 1)[0].decode("latin-1")
        found.sent += 1
        if status is not None:
            found.statuses[status] = found.statuses.get(status, 0) + 1
        if status is not None and status >= 500:
            found.record(f"framing {first}", f"{first} {body[:60]!r} -> {raw[:300]!r}")


def _sockets(base: str, bearers: dict[str, str], found: Findings) -> None:
    """Socket.IO: bad auth is refused; a joined client's wrongly typed events get an error, not a dead worker."""
    for auth in (None, {"token": 5}, {"token": "nope"}, "string", [1, 2], {"token": "x" * 10000}, {"token": "\ud800"}):
        c = socketio.Client(reconnection=False)
        try:
            c.connect(base, auth=auth, transports=["websocket"], wait_timeout=5)
            found.record(f"socket auth {auth!r:.40}", f"Socket.IO connect with auth {auth!r:.60} was accepted")
        except socketio.exceptions.ConnectionError:
            pass
        except Exception as e:  # noqa: BLE001 - anything else is a finding
            found.record(f"socket auth {auth!r:.40}", f"connect with auth {auth!r:.60}: {type(e).__name__}: {e}")
        finally:
            c.disconnect()
    payloads = [None, 1, "hall", [1], {"hall": "1"}, {"hall": 2**70}, {"hall": -1}, {"hall": 1.5}, {"window": None},
                {"hall": True}, {"window": [1]}, {"hall": {"$ne": 0}}, {"hall": 1, "window": 1}, {"window": 2**63},
                "\ud800", {"\u0000": 1}]
    for who in ("screen", "admin", "clerk01", "kiosk"):
        token = bearers.get(who)
        if not token or requests.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"},
                                     timeout=TIMEOUT).status_code != 200:
            continue  # never issued, or revoked by an earlier test's fuzz (a staff account disabled, say)
        c = socketio.Client(reconnection=False)
        try:
            c.connect(base, auth={"token": token}, transports=["websocket"], wait_timeout=5)
            for event in ("leave", "call-next", "snapshot", "message", "\u0000", "connect", "disconnect"):
                for p in payloads:  # events nobody handles: no answer, and nothing breaks
                    found.sent += 1
                    c.emit(event, p)
            for p in payloads:
                found.sent += 1
                ack = c.call("join", p, timeout=5)
                if not (isinstance(ack, dict) and ("error" in ack or ack.get("ok"))):
                    found.record(f"socket {who} join {p!r:.30}", f"{who} join {p!r:.60} -> {ack!r:.200}")
            ack = c.call("join", {"hall": 1}, timeout=5)  # still connected and served
            if who in ("screen", "admin") and not (isinstance(ack, dict) and ack.get("ok")):
                found.record(f"socket {who} after", f"{who}: a good join after the bad ones -> {ack!r:.200}")
        except Exception as e:  # noqa: BLE001 - a client that cannot talk is a finding
            found.record(f"socket {who}", f"{who}: {type(e).__name__}: {e}")
        finally:
            c.disconnect()
