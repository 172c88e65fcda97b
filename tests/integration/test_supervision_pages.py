"""Who opens the issue-18 pages: consultations for every staff member, the audit viewer and the leadership page
for managers, the measures page for anyone; the pages' scripts reach the API with the session cookie."""
from __future__ import annotations

import re

from tests.integration.test_admin_auth import page_login


def _client(app, username: str | None):
    c = app.test_client()
    if username:
        assert page_login(c, username).status_code == 302
    return c


def test_page_roles_and_nav(app, api):
    anon = _client(app, None)
    for path in ("/admin/consultations", "/admin/audit", "/admin/leadership"):
        r = anon.get(path)
        assert r.status_code == 302 and "/admin/login" in r.headers["Location"]
    clerk = _client(app, "clerk01")
    page = clerk.get("/admin/consultations")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "登记咨询" in html and "咨询回复率" not in html  # the rates are the managers'
    assert 'data-nav="consultations"' in html and 'data-nav="audit"' not in html and 'data-nav="leadership"' not in html
    for path in ("/admin/audit", "/admin/leadership"):
        assert clerk.get(path).status_code == 403
    mgr = _client(app, "manager")
    for path, words in (("/admin/consultations", "咨询回复率与及时率"), ("/admin/audit", "操作记录"),
                        ("/admin/leadership", "领导看板")):
        html = mgr.get(path).get_data(as_text=True)
        assert words in html, path
        assert 'data-nav="audit"' in html and 'data-nav="leadership"' in html
    # The audit page's filters name staff by employee number and masked name only.
    audit = mgr.get("/admin/audit").get_data(as_text=True)
    assert "王丽" not in audit and re.search(r"王\*", audit)
    # The session cookie works for the pages' API calls (writes with the page's CSRF token).
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', audit).group(1)
    r = mgr.post(f"/api/v1/halls/{api.hall_id}/consultations", json={"channel": "walk_up", "question": "几点下班？",
                                                                       "answer": "下午五点。"},
                 headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert mgr.post(f"/api/v1/halls/{api.hall_id}/consultations", json={"channel": "walk_up", "question": "几点下班？"},
                    ).status_code == 403  # no CSRF token
    assert anon.get("/measures?hall=demo").status_code == 200
    assert anon.get("/measures?hall=nowhere").status_code == 404


def test_the_measures_page_is_the_managers(app, api):
    assert _client(app, None).get("/admin/measures").status_code == 302
    assert _client(app, "clerk01").get("/admin/measures").status_code == 403
    html = _client(app, "manager").get("/admin/measures").get_data(as_text=True)
    assert "整改措施公示管理" in html and "/measures?hall=demo" in html
    assert 'href="/admin/measures"' in _client(app, "manager").get("/admin/complaints").get_data(as_text=True)
