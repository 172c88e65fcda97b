"""One CSV writer for every export (issue 13, finding 8): text a spreadsheet would run is neutralised."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import update

from hall_queue.infrastructure.csv_export import csv_text, neutralise
from hall_queue.domain.models import Hall, ServiceItem, Staff

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("value", FORMULAS)
def test_writer_quotes_every_formula_start(value):
    assert neutralise(value) == "'" + value
    assert _rows(csv_text([[value, 42, -3, 0.5, "普通文字"]]).encode()) == [["'" + value, "42", "-3", "0.5", "普通文字"]]


def test_statistics_csv_neutralises_hall_names_and_staff_numbers(api):
    api.db.run_write(lambda s: s.execute(update(Hall).where(Hall.id == api.hall_id).values(name=FORMULAS[0])))
    api.db.run_write(lambda s: s.execute(update(Staff).where(Staff.username == "clerk01").values(employee_no="=1+2")))
    t = api.issue("SS001")["id"]
    api.sign_in("clerk01", 1)
    assert api.call("clerk01", 1)["ticket"]["id"] == t
    api.act("clerk01", t, "finish", {"outcome": "completed"})
    m = api.token("manager")
    cells = []
    for by in ("hall", "clerk"):
        r = api.client.get(f"/api/v1/halls/{api.hall_id}/statistics.csv",
                           query_string={"from": "2026-03-02", "to": "2026-03-02", "by": by},
                           headers={"Authorization": f"Bearer {m}"})
        assert r.status_code == 200
        cells += [c for row in _rows(r.data) for c in row]
    assert "'" + FORMULAS[0] in cells
    assert any(c.startswith("'=1+2 ") for c in cells)
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]


def test_items_csv_uses_the_same_writer(api):
    api.db.run_write(lambda s: s.execute(update(ServiceItem).where(ServiceItem.id == api.items["SS001"])
                                         .values(name="@cmd|' /C calc'!A0")))
    m = api.token("manager")
    r = api.get(f"/api/v1/halls/{api.hall_id}/items.csv", token=m)
    names = [row[1] for row in _rows(r.data)]
    assert "'@cmd|' /C calc'!A0" in names
