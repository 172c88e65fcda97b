"""English on the public booking and complaint pages (issue 21): ?lang=en, kept for the next pages by a
cookie, a switch back to Chinese in the header; errors said in English, never the Chinese rule sentence;
Chinese stays the default and unchanged."""
from __future__ import annotations

import re

from tests.integration.test_appointments_booking import ID_A

CJK = re.compile(r"[\u4e00-\u9fff]")


def _visible(html: str) -> str:
    """The page's visible text (no tags, no attribute values)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", html.split("<body", 1)[1], flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", body)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_booking_in_english_from_choice_to_success(api, app):
    c = app.test_client()
    h, item = api.hall_id, api.items["SS001"]
    page = c.get(f"/book/{h}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Choose a service" in page and 'id="lang-switch"' in page
    assert "lang=zh" in re.search(r'<a href="([^"]+)" class="bar-link" id="lang-switch"', page).group(1)
    # The next page has no ?lang: the cookie keeps English.
    page = c.get(f"/book/{h}/slots?matter=i{item}&date=2026-03-03").get_data(as_text=True)
    assert "Choose a time" in page and "2 left" in page and "Tue" in page
    r = c.get(f"/book/{h}/form?matter=i{item}&slot=2026-03-03T10:00")
    form = {"matter": f"i{item}", "slot": "2026-03-03T10:00", "name": "", "id_number": "123",
            "phone": "12", "csrf_token": _csrf(r.get_data(as_text=True))}
    r = c.post(f"/book/{h}/form", data=form)                     # every error at once, in English
    text = _visible(r.get_data(as_text=True))
    assert r.status_code == 422 and "Please correct these 4 fields" in text
    assert "Please enter your name" in text and "The ID number is not valid" in text and "11-digit" in text
    assert "Please read and accept" in text and not CJK.search(text.split("Please correct")[1].split("</ul>")[0])
    r = c.post(f"/book/{h}/form", data={**form, "name": "王小明", "id_number": ID_A, "phone": "13800138000",
                                        "consent": "1"})
    assert r.status_code == 302
    done = _visible(c.get(f"/book/{h}/done").get_data(as_text=True))
    assert "Booked" in done and "Please keep your booking code" in done and "Please bring" in done
    r = c.post(f"/book/{h}/form", data={**form, "name": "王小明", "id_number": ID_A, "phone": "13800138000",
                                        "consent": "1"})
    assert r.status_code == 422 and "You already have a booking" in r.get_data(as_text=True)
    # Back to Chinese with the switch: the same pages as before.
    page = c.get(f"/book/{h}?lang=zh").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "选择事项" in page and ">English<" in page


def test_complaint_pages_in_english(api, app):
    c = app.test_client()
    page = c.get("/complaints/new?hall=demo&lang=en").get_data(as_text=True)
    text = _visible(page)
    assert "Complaint or report" in text and "Attitude of staff" in text and "Window 1" in text
    assert "What happened" in text and "投诉举报表" not in text
    r = c.post("/complaints/new?hall=demo", data={"kind": "attitude", "content": "x", "csrf_token": _csrf(page)})
    assert r.status_code == 422 and "Please check the form" in r.get_data(as_text=True)
    r = c.post("/complaints/new?hall=demo", data={"kind": "attitude", "content": "窗口人员态度生硬，多次催促。",
                                                   "complainant_name": "李四", "contact": "13900139000",
                                                   "csrf_token": _csrf(page)})
    filed = r.get_data(as_text=True)
    assert r.status_code == 201 and "Your complaint has been received" in filed and "Look-up code" in filed
    number = re.search(r'id="complaint-number">([^<]+)<', filed).group(1)
    status = _visible(c.get(f"/complaints/status?hall=demo&number={number}").get_data(as_text=True))
    assert "Status of a complaint" in status and "Received" in status and "Attitude of staff" in status
    zh = c.get("/complaints/new?hall=demo&lang=zh").get_data(as_text=True)
    assert "投诉举报表" in zh and "服务态度" in zh
