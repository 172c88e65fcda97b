"""The test suite shares Werkzeug's compiled URL builders between apps (tests/conftest.py): each shared
builder must be the one Werkzeug would compile for that rule, and URLs must come out the same."""
from __future__ import annotations

from werkzeug.routing.rules import Rule

from hall_queue import create_app


def test_every_shared_url_builder_is_the_one_werkzeug_compiles(tmp_path):
    shared = Rule._compile_builder
    assert getattr(shared, "shared_by_tests", False)  # conftest installed it
    apps = [create_app({"DATABASE_URL": f"sqlite:///{tmp_path / f'{n}.db'}", "DATA_KEY": "k", "TESTING": True})
            for n in range(2)]
    rules = [list(app.url_map.iter_rules()) for app in apps]
    assert len(rules[0]) == len(rules[1]) > 200
    for first, second in zip(*rules):
        for append_unknown in (False, True):
            fresh = shared.original(first, append_unknown).__code__
            for rule in (first, second):
                code = (rule._build_unknown if append_unknown else rule._build).__func__.__code__
                assert (code.co_code, code.co_consts, code.co_varnames) == \
                    (fresh.co_code, fresh.co_consts, fresh.co_varnames), rule.rule
        assert first._build.__self__ is first and second._build.__self__ is second
    with apps[1].test_request_context():
        from flask import url_for

        assert url_for("api.get_ticket", ticket_id=7) == "/api/v1/tickets/7"
        assert url_for("api.get_ticket", ticket_id=7, x="a b") == "/api/v1/tickets/7?x=a+b"
