"""Where to wait, as the slips print it (issue 21): window areas and number ranges."""
from __future__ import annotations

from kiosk.slips import checkin_slip, number_ranges, ticket_slip, wait_place_text, wait_windows_text

PLACES = [{"area": "A区", "windows": [1, 2, 3, 4, 5, 6]}, {"area": None, "windows": [9, 11, 12]}]
TICKET = {"number": "A001", "issued_at": "2026-12-06T04:00:00Z", "people_ahead": 2, "estimated_wait_s": 600,
          "follow_code": "x", "priority_class": "ordinary"}


def test_numbers_read_as_ranges():
    assert number_ranges([6, 1, 2, 3, 4, 5, 9, 11, 12]) == "1–6、9、11–12"
    assert number_ranges([7]) == "7"


def test_the_ticket_slip_says_where_to_wait_and_the_checkin_slip_names_the_windows():
    assert wait_place_text(PLACES) == "请到A区 1–6号窗口、9、11–12号窗口等候"
    assert wait_windows_text(PLACES[:1]) == "A区 1–6号窗口"
    assert wait_place_text([]) is None and wait_windows_text(None) is None
    hall = {"name": "示例市政务服务中心", "timezone": "Asia/Shanghai"}
    slip = ticket_slip(TICKET, hall=hall, queue_name="综合受理", matter="企业设立登记", materials=[], follow_url=None,
                       wait_place=wait_place_text(PLACES[:1]))
    assert slip.wait_place == "请到A区 1–6号窗口等候"
    booked = checkin_slip(TICKET, {"code": "ABCD1234"}, hall=hall, queue_name="综合受理", matter="企业设立登记",
                          follow_url=None, wait_place=PLACES[:1])
    assert booked.window_hint == "A区 1–6号窗口"
