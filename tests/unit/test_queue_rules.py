"""Pure rules: masking, numbers, service days, opening hours, merged materials."""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall_queue.catalog.materials import merged_materials
from hall_queue.domain.calendar import is_open, service_day, validate_opening_hours
from hall_queue.access.identity import IdentityVault, mask_id_number, mask_name
from hall_queue.domain.models import Hall, ServiceItem
from hall_queue.queueing.ticketing import format_number, parse_ticket_number


def test_masks_follow_the_privacy_rule():
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("John Smith") == "J*** S****"
    assert mask_id_number("220102199003071234") == "220102********1234"


def test_vault_hashes_stably_and_encrypts_reversibly():
    v = IdentityVault("k1")
    assert v.id_hash("22010219900307123x") == v.id_hash("22010219900307123X")
    assert v.id_hash("220102199003071234") != IdentityVault("k2").id_hash("220102199003071234")
    token = v.encrypt("220102199003071234")
    assert "220102199003071234" not in token
    assert v.decrypt(token) == "220102199003071234"
    with pytest.raises(ValueError):
        IdentityVault("other").decrypt(token)


def test_numbers_widen_past_999():
    assert format_number("A", 1) == "A001"
    assert format_number("A", 999) == "A999"
    assert format_number("A", 1000) == "A1000"
    assert parse_ticket_number("a023") == ("A", 23)
    assert parse_ticket_number("B1000") == ("B", 1000)


@given(st.sampled_from(["A", "B", "Z", "AB"]), st.integers(min_value=1, max_value=999_999))
def test_number_round_trip(prefix, seq):
    assert parse_ticket_number(format_number(prefix, seq)) == (prefix, seq)


@given(st.text(max_size=12))
def test_number_parser_rejects_junk_with_value_error(text):
    try:
        prefix, seq = parse_ticket_number(text)
    except ValueError:
        return
    assert format_number(prefix, seq) == text.strip().upper()


def _hall(**kw) -> Hall:
    return Hall(name="h", code="h", timezone="Asia/Shanghai", day_boundary=kw.get("boundary", "03:00"),
                opening_hours=kw.get("hours", {}))


def test_service_day_changes_at_the_boundary_in_hall_time():
    hall = _hall(boundary="03:00")
    # 2026-03-02 02:59 Shanghai = 2026-03-01 18:59 UTC → still the 1st's service day.
    assert service_day(hall, datetime(2026, 3, 1, 18, 59)).isoformat() == "2026-03-01"
    assert service_day(hall, datetime(2026, 3, 1, 19, 0)).isoformat() == "2026-03-02"


def test_opening_hours_with_a_lunch_break():
    hall = _hall(hours=validate_opening_hours({"mon": [["08:30", "12:00"], ["13:30", "17:30"]]}))
    assert is_open(hall, datetime(2026, 3, 2, 0, 30))       # Mon 08:30 local
    assert not is_open(hall, datetime(2026, 3, 2, 4, 30))   # Mon 12:30 local (lunch)
    assert not is_open(hall, datetime(2026, 3, 2, 9, 30))   # Mon 17:30 local (closed)
    assert not is_open(hall, datetime(2026, 3, 3, 1, 0))    # Tuesday: no hours given
    with pytest.raises(ValueError):
        validate_opening_hours({"mon": [["12:00", "08:00"]]})
    with pytest.raises(ValueError):
        validate_opening_hours({"funday": []})


def test_bundle_materials_are_one_set():
    a = ServiceItem(code="X1", name="x1", materials=[
        {"name": "居民身份证", "form": "copy", "count": 1, "required": True, "deferrable": True},
        {"name": "结婚证", "form": "copy", "count": 1, "required": False, "deferrable": True}])
    b = ServiceItem(code="X2", name="x2", materials=[
        {"name": "居民 身份证", "form": "original", "count": 2, "required": True, "deferrable": False},
        {"name": "户口簿", "form": "original", "count": 1, "required": True, "deferrable": False}])
    merged = {m["name"]: m for m in merged_materials([a, b])}
    assert set(merged) == {"居民身份证", "结婚证", "户口簿"}  # 003 §3.8: listed once
    idc = merged["居民身份证"]
    assert (idc["form"], idc["count"], idc["required"], idc["deferrable"]) == ("original", 2, True, False)
    assert idc["for_items"] == ["X1", "X2"]
