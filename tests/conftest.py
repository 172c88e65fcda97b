"""Shared fixtures: a real SQLite file per test, the demo hall, and API helpers (FL/CP style)."""
from __future__ import annotations

import os
import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from bench.harness import pg_admin as _pg_admin
from bench.harness import postgres_available
from hall_queue import create_app
from hall_queue.domain.clock import ManualClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, issue_demo_tokens, load_demo_hall
from hall_queue.access.identity import IdentityVault
from hall_queue.domain.models import Base, Hall, Staff
from tests import scheduling

REQUIRE_SERVICES = os.environ.get("ONEVISIT_REQUIRE_SERVICES") == "1"
# 2026-03-02 is a Monday; 10:00 in Shanghai is 02:00 UTC.
MONDAY_10AM = datetime(2026, 3, 2, 2, 0, 0)


def _share_url_builders() -> None:
    """Test-only: every app a test creates compiles the same ~270 URL rules, and Werkzeug generates two
    Python builder functions per rule through ``compile()`` (most of create_app's ~0.09 s of CPU; a
    test creates one app, ~700 tests). The function depends only on the rule's text, its parts and its
    defaults' names (it reads converters through the rule it is bound to), so one compiled function
    serves every app's copy of a rule; a rule whose default fills a URL part compiles its own.
    tests/unit/test_url_builders_shared.py checks each shared builder against a fresh one.
    """
    from werkzeug.routing.rules import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None or getattr(original, "shared_by_tests", False):
        return
    built: dict[tuple, object] = {}

    def compile_builder(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        if any(is_dynamic and data in defaults for is_dynamic, data in self._trace):
            return original(self, append_unknown)
        key = (self.rule, append_unknown, tuple(self._trace), tuple(defaults))
        if key not in built:
            built[key] = original(self, append_unknown)
        return built[key]

    compile_builder.shared_by_tests = True
    compile_builder.original = original
    Rule._compile_builder = compile_builder


_share_url_builders()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_10AM)


PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
_pg_template: dict[str, str] = {}
# Test-only: every worker's template holds the demo staff with a cheap argon2id hash of DEMO_PASSWORD, so a
# login in a test costs a millisecond instead of the production KDF's ~0.2 s of CPU (several per test,
# ~700 tests). Production hashing is unchanged (tests/unit/test_password_cost.py proves its cost), an
# account created in a test gets the production hash, and ONEVISIT_TEST_FULL_KDF=1 keeps the demo
# hall's production hashes in the templates too.
CHEAP_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _load_template_demo_hall(session) -> int:
    hall_id = load_demo_hall(session, now=MONDAY_10AM).id
    if os.environ.get("ONEVISIT_TEST_FULL_KDF") != "1":
        session.execute(update(Staff).values(password_hash=CHEAP_TEST_HASHER.hash(DEMO_PASSWORD)))
    return hall_id


def _pg_template_database(with_demo_hall: bool, admin) -> str:
    """The worker's template database: the schema, and (the second one) the demo hall at MONDAY_10AM."""
    import uuid

    key = "demo" if with_demo_hall else "name"
    if key not in _pg_template:
        tmpl = f"ov_tmpl_{uuid.uuid4().hex[:8]}"
        admin.execute(f"CREATE DATABASE {tmpl}")
        engine = Database(PG_URL.format(name=tmpl))
        Base.metadata.create_all(engine.writer)
        if with_demo_hall:
            _pg_template["demo_hall_id"] = str(engine.run_write(_load_template_demo_hall))
        engine.dispose()
        _pg_template[key] = tmpl
    return _pg_template[key]


def new_postgres_database(*, empty: bool = False, with_demo_hall: bool = False, migrated: bool = False) -> str:
    """Create a fresh PostgreSQL database with the schema (copied from a template); return its URL.

    ``empty=True`` leaves the schema out, for tests that run ``onevisit init`` (the migrations) on it;
    ``with_demo_hall=True`` copies the demo hall loaded at MONDAY_10AM too (its id: ``pg_demo_hall_id()``).
    ``migrated=True`` gives the database ``onevisit init`` would leave (the migrations run once per
    process on a template, then copied), for tests that start a server on it.
    """
    import uuid

    with _pg_admin() as admin:
        name = f"ov_test_{uuid.uuid4().hex[:10]}"
        if empty:
            admin.execute(f"CREATE DATABASE {name}")
            return PG_URL.format(name=name)
        if migrated:
            if "migrated" not in _pg_template:
                from hall_queue.infrastructure.migrate import upgrade

                tmpl = f"ov_tmig_{uuid.uuid4().hex[:8]}"
                admin.execute(f"CREATE DATABASE {tmpl}")
                upgrade(PG_URL.format(name=tmpl))
                _pg_template["migrated"] = tmpl
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {_pg_template['migrated']}")
            return PG_URL.format(name=name)
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {_pg_template_database(with_demo_hall, admin)}")
    return PG_URL.format(name=name)


def pg_demo_hall_id() -> int:
    return int(_pg_template["demo_hall_id"])


def require_postgres() -> None:
    """Skip the test without PostgreSQL on 127.0.0.1:5432 — fail it instead where CI requires the services."""
    if not postgres_available():
        if REQUIRE_SERVICES:
            pytest.fail("PostgreSQL is required (ONEVISIT_REQUIRE_SERVICES=1)")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is needed")


def drop_postgres_database(url: str) -> None:
    with _pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


class _LaterDrops:
    """Drop a test's PostgreSQL database on a background thread, so the next test need not wait for it.

    DROP DATABASE waits for the server to release the files (seconds when the machine is busy) and the
    test is over by then; the worker waits for the queue to empty before it ends (pytest_sessionfinish).
    """

    def __init__(self) -> None:
        import queue

        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def put(self, url: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pg-drops", daemon=True)
            self._thread.start()
        self._queue.put(url)

    def _run(self) -> None:
        while (url := self._queue.get()) is not None:
            try:
                drop_postgres_database(url)
            except Exception:  # noqa: BLE001 - a left-over test database is harmless; the next one goes on
                pass

    def wait(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


_later_drops = _LaterDrops()


def engines() -> list:
    """SQLite always; PostgreSQL too when reachable (required in CI)."""
    params = ["sqlite"]
    if REQUIRE_SERVICES or postgres_available():
        params.append("postgresql")
    return params


# A worker builds each SQLite starting point once — the schema, and the schema with the demo hall loaded at
# MONDAY_10AM — and every test gets its own copy of the file (a fresh database, as before, without paying
# ~100 DDL statements and the 31-item demo hall again for each of several hundred tests).
_sqlite_templates: dict[bool, tuple[Path, int | None]] = {}


def _sqlite_template(with_demo_hall: bool, tmp_path_factory) -> tuple[Path, int | None]:
    if with_demo_hall not in _sqlite_templates:
        path = tmp_path_factory.mktemp("db-template") / "hall.db"
        database = Database(f"sqlite:///{path}")
        Base.metadata.create_all(database.writer)
        hall = database.run_write(_load_template_demo_hall) if with_demo_hall else None
        database.dispose()
        _sqlite_templates[with_demo_hall] = (path, hall)
    return _sqlite_templates[with_demo_hall]


def _wants_demo_template(request) -> bool:
    """The demo hall comes in the copy when the test asks for it at the usual clock (hall_id below)."""
    return "hall_id" in request.fixturenames and request.getfixturevalue("clock").now() == MONDAY_10AM


@pytest.fixture
def db(tmp_path, request, tmp_path_factory) -> Database:
    engine = getattr(request, "param", "sqlite")
    with_demo_hall = _wants_demo_template(request)
    if engine == "postgresql":
        url = new_postgres_database(with_demo_hall=with_demo_hall)
        database = Database(url)
        database.demo_hall_id = pg_demo_hall_id() if with_demo_hall else None
        yield database
        database.dispose()
        _later_drops.put(url)
        return
    template, demo_hall_id = _sqlite_template(with_demo_hall, tmp_path_factory)
    shutil.copyfile(template, tmp_path / "hall.db")
    database = Database(f"sqlite:///{tmp_path / 'hall.db'}")
    database.demo_hall_id = demo_hall_id
    yield database
    database.dispose()


def pytest_sessionfinish(session, exitstatus):
    _later_drops.wait()
    for key in ("name", "demo", "migrated"):
        if key in _pg_template:
            try:
                drop_postgres_database(PG_URL.format(name=_pg_template[key]))
            except Exception:  # noqa: BLE001
                pass


@pytest.fixture
def vault() -> IdentityVault:
    return IdentityVault("test-data-key")


@pytest.fixture
def hall_id(db, clock) -> int:
    if getattr(db, "demo_hall_id", None) is not None:
        return db.demo_hall_id  # copied from the worker's template (see db)
    return db.run_write(lambda s: load_demo_hall(s, now=clock.now()).id)


@pytest.fixture
def app(db, clock, hall_id):
    app = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": "test-data-key",
                      "TESTING": True})
    return app


@pytest.fixture
def client(app):
    return app.test_client()


class Api:
    """Drive the API like kiosks, clerks and managers do (AuthActions of flaskr, grown up)."""

    def __init__(self, client, db: Database, hall_id: int, clock: ManualClock) -> None:
        self.client = client
        self.hall_id = hall_id
        self.clock = clock
        self.tokens = db.run_write(lambda s: issue_demo_tokens(s, s.get(Hall,
                                                                              hall_id), now=clock.now()))
        self._staff_tokens: dict[str, str] = {}
        self.db = db
        self.catalog = self.client.get(f"/api/v1/halls/{hall_id}/catalog").get_json()
        self.items = {i["code"]: i["id"] for i in self.catalog["items"]}
        self.bundles = {b["code"]: b["id"] for b in self.catalog["bundles"]}
        self.queues = {q["prefix"]: q["id"] for q in self.catalog["queues"]}
        snap = self.get("/api/v1/halls/%d/snapshot" % hall_id, token=self.tokens["screen"]).get_json()
        self.windows = {w["number"]: w["id"] for w in snap["windows"]}

    def token(self, username: str) -> str:
        if username not in self._staff_tokens:
            r = self.client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.get_json()
            self._staff_tokens[username] = r.get_json()["token"]
        return self._staff_tokens[username]

    def _headers(self, token: str | None, extra: dict | None = None) -> dict:
        h = {"Authorization": f"Bearer {token}"} if token else {}
        h.update(extra or {})
        return h

    def get(self, path: str, *, token: str | None = None):
        return self.client.get(path, headers=self._headers(token))

    def post(self, path: str, json=None, *, token: str | None = None, headers: dict | None = None):
        return self.client.post(path, json=json, headers=self._headers(token, headers))

    def as_(self, username: str):
        return self.token(username)

    def issue(self, *codes: str, bundle: str | None = None, expect: int = 201, **extra):
        body = {"item_ids": [self.items[c] for c in codes], **extra}
        if bundle:
            body = {"bundle_id": self.bundles[bundle], **extra}
        r = self.post(f"/api/v1/halls/{self.hall_id}/tickets", body, token=self.tokens["kiosk"])
        assert r.status_code == expect, r.get_json()
        return r.get_json()

    def sign_in(self, clerk: str, window: int):
        r = self.post(f"/api/v1/windows/{self.windows[window]}/sign-in", token=self.token(clerk))
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def call(self, clerk: str, window: int, expect: int = 200):
        r = self.post(f"/api/v1/windows/{self.windows[window]}/call-next", token=self.token(clerk))
        assert r.status_code == expect, r.get_json()
        return r.get_json()

    def act(self, clerk: str, ticket_id: int, action: str, json=None, expect: int = 200):
        r = self.post(f"/api/v1/tickets/{ticket_id}/{action}", json, token=self.token(clerk))
        assert r.status_code == expect, r.get_json()
        return r.get_json()


@pytest.fixture
def api(client, db, hall_id, clock) -> Api:
    return Api(client, db, hall_id, clock)


def _rewrite_test_modules_once(config) -> None:
    """Write pytest's rewritten bytecode of every test module, so the workers read it instead of each
    rewriting it again.

    Every xdist worker collects (imports) every test module, and pytest rewrites the asserts of each one from
    the source unless it finds its cached ``__pycache__/*-pytest-*.pyc`` — which a clean clone lacks, and
    which a process never writes under PYTHONDONTWRITEBYTECODE=1 (this machine's environment). That was
    ~4 of a worker's ~8.5 CPU-seconds of start-up, three times over; here it is paid once, before the
    workers start. Only the cache is written (gitignored): what a worker runs is exactly what it would have
    rewritten itself, and a worker that finds no usable file rewrites as before.
    """
    from fnmatch import fnmatch

    from _pytest.assertion import rewrite

    state = config.stash.get(rewrite.assertstate_key, None)
    if state is None:  # --assert=plain
        return
    patterns = [*config.getini("python_files"), "conftest.py"]
    for fn in sorted(Path(config.rootpath, "tests").rglob("*.py")):
        if not any(fnmatch(fn.name, p) for p in patterns):
            continue
        cache_dir = rewrite.get_cache_dir(fn)
        pyc = cache_dir / (fn.name[:-3] + rewrite.PYC_TAIL)
        if rewrite._read_pyc(fn, pyc, state.trace) is not None:
            continue
        try:
            cache_dir.mkdir(exist_ok=True)
            source_hash, code = rewrite._rewrite_test(fn, config)
            rewrite._write_pyc(state, code, source_hash, pyc)
        except (OSError, SyntaxError):  # a read-only tree, a broken file: the worker meets it as before
            continue


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        _rewrite_test_modules_once(config)  # the xdist controller, before it starts the workers


@pytest.hookimpl(optionalhook=True)  # only with pytest-xdist (the dev extras)
def pytest_xdist_make_scheduler(config, log):
    return scheduling.make_scheduler(config, log)


def pytest_terminal_summary(terminalreporter):
    if scheduling.recording():
        reports = [r for group in terminalreporter.stats.values() for r in group if hasattr(r, "when")]
        terminalreporter.write_line(f"timings recorded in {scheduling.write_record(reports)}")


def pytest_collection_modifyitems(config, items):
    """Apply the declared markers: ``browser`` to tests/e2e, ``services`` to tests on PostgreSQL or Redis.

    ``pytest -m "not browser and not services"`` then runs what a machine without chromium, PostgreSQL
    and Redis can run. Then order the items longest work first for the xdist workers (tests/scheduling.py).
    """
    scheduling.order_longest_first(items)
    for item in items:
        path = str(item.fspath)
        if f"{os.sep}e2e{os.sep}" in path:
            item.add_marker(pytest.mark.browser)
        callspec = getattr(item, "callspec", None)
        if (callspec is not None and "postgresql" in callspec.params.values()) or \
                any(word in item.name.lower() for word in ("postgres", "redis")):
            item.add_marker(pytest.mark.services)
