"""The suite's own xdist order: longest recorded work first, a shard a unit of its own."""
from __future__ import annotations

import json
from types import SimpleNamespace

from tests import scheduling


def _items(*nodeids: str) -> list:
    return [SimpleNamespace(nodeid=n) for n in nodeids]


def test_units_are_files_except_shards():
    assert scheduling.work_unit("tests/a.py::test_x[sqlite]") == "tests/a.py"
    assert scheduling.work_unit("tests/a.py::test_fuzz[shard-3]") == "tests/a.py::test_fuzz[shard-3]"
    assert scheduling.work_unit("tests/a.py::test_fuzz[shard-3-x]") == "tests/a.py"


def test_longest_recorded_unit_first_and_tests_keep_their_order(tmp_path, monkeypatch):
    record = tmp_path / "timings.json"
    record.write_text(json.dumps({"tests/short.py": 1, "tests/long.py": 90,
                                  "tests/f.py::t[shard-1]": 40, "tests/f.py::t[shard-0]": 5}))
    monkeypatch.setattr(scheduling, "TIMINGS", record)
    items = _items("tests/short.py::a", "tests/short.py::b", "tests/new.py::c", "tests/long.py::d",
                   "tests/long.py::e", "tests/f.py::t[shard-0]", "tests/f.py::t[shard-1]")
    scheduling.order_longest_first(items)
    # new.py is unknown: it counts as the mean of the record (34 s), between shard-1 and shard-0
    assert [i.nodeid for i in items] == [
        "tests/long.py::d", "tests/long.py::e", "tests/f.py::t[shard-1]", "tests/new.py::c",
        "tests/f.py::t[shard-0]", "tests/short.py::a", "tests/short.py::b"]


def test_a_run_records_seconds_per_unit(tmp_path, monkeypatch):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "a.py").write_text("")
    record = tmp_path / "tests" / "timings.json"
    record.write_text(json.dumps({"tests/gone.py": 9}))
    monkeypatch.setattr(scheduling, "TIMINGS", record)
    reports = [SimpleNamespace(nodeid="tests/a.py::x", when=w, duration=d)
               for w, d in (("setup", 1.25), ("call", 2.0), ("teardown", 0.25))]
    scheduling.write_record(reports)
    assert json.loads(record.read_text()) == {"tests/a.py": 3.5}
