"""Scanned pages only for the clerks of the window holding the ticket and managers; every read audited
(issue 13, finding 5)."""
from __future__ import annotations

import io

from PIL import Image


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 280), (240, 240, 230)).save(buf, "JPEG")
    return buf.getvalue()


def _ticket_with_a_page(api) -> tuple[int, str]:
    t = api.issue("SS001")["id"]
    r = api.client.post(f"/api/v1/tickets/{t}/attachments?page_size=A4", data=_jpeg(),
                        headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {api.tokens['kiosk']}"})
    assert r.status_code == 201
    return t, r.get_json()["url"]


def _reads(api) -> list[dict]:
    audit = api.get(f"/api/v1/halls/{api.hall_id}/audit", token=api.token("manager")).get_json()["items"]
    return [a for a in audit if a["action"] in ("ticket.read_page", "ticket.read_pages")]


def test_only_the_holding_window_and_managers_read_pages(api):
    t, url = _ticket_with_a_page(api)
    listing = f"/api/v1/tickets/{t}/attachments"
    # Waiting: no clerk holds it yet; another clerk guessing the sequential ids is refused.
    for clerk in ("clerk01", "clerk07"):
        for path in (listing, url):
            r = api.get(path, token=api.token(clerk))
            assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden", (clerk, path)
    assert _reads(api) == []
    api.sign_in("clerk01", 1)
    assert api.call("clerk01", 1)["ticket"]["id"] == t
    assert api.get(url, token=api.token("clerk01")).status_code == 200          # the clerk holding it
    assert api.get(listing, token=api.token("clerk01")).status_code == 200
    assert api.get(url, token=api.token("clerk07")).status_code == 403          # a clerk of another window
    assert api.get(url, token=api.token("manager")).status_code == 200          # a manager
    assert api.get(url, token=None).status_code == 401
    assert api.get(url, token=api.tokens["screen"]).status_code == 403
    reads = _reads(api)
    assert len(reads) == 3 and {r["action"] for r in reads} == {"ticket.read_page", "ticket.read_pages"}
    assert all(r["ticket_id"] == t for r in reads)


def test_the_posts_b_clerk_reads_the_windows_ticket(api):
    """The A/B clerks of the window holding the ticket share its post (one covers for the other)."""
    t, url = _ticket_with_a_page(api)
    api.sign_in("clerk01", 1)
    assert api.call("clerk01", 1)["ticket"]["id"] == t
    assert api.get(url, token=api.token("clerk02")).status_code == 200   # window 1's B clerk (demo_data)
    assert api.get(url, token=api.token("clerk03")).status_code == 403   # window 3's A clerk
