"""Statistics API over tickets driven through the real API, CSV export, and the issue-6b pages."""
from __future__ import annotations

import csv
import io
import re


def _day(api, m, **q):
    return api.client.get(f"/api/v1/halls/{api.hall_id}/statistics",
                          query_string={"from": "2026-03-02", "to": "2026-03-02", **q},
                          headers={"Authorization": f"Bearer {m}"})


def test_statistics_of_a_served_morning(api):
    # Monday 10:00 local. Two tickets, 2 minutes apart; clerk01 calls the first at 10:10, serves it 5 minutes,
    # calls the second at 10:15 and marks it a no-show.
    t1 = api.issue("SS001")["id"]
    api.clock.advance(minutes=2)
    t2 = api.issue("SS001")["id"]
    api.sign_in("clerk01", 1)
    api.clock.advance(minutes=8)
    assert api.call("clerk01", 1)["ticket"]["id"] == t1
    api.act("clerk01", t1, "start")
    api.clock.advance(minutes=5)
    api.act("clerk01", t1, "finish", {"outcome": "completed"})
    assert api.call("clerk01", 1)["ticket"]["id"] == t2
    api.act("clerk01", t2, "recall")  # 过号 only after a recall (or the hall's minimum time)
    api.act("clerk01", t2, "no-show")
    m = api.token("manager")
    r = _day(api, m)
    assert r.status_code == 200, r.get_json()
    t = r.get_json()["totals"]
    assert (t["issued"], t["called"], t["served"], t["no_show"]) == (2, 2, 1, 1)
    assert t["no_show_rate"] == 0.5                   # 1 / 2
    assert t["wait_mean_s"] == 690.0                  # (600 + 780) / 2: 10:00→10:10 and 10:02→10:15
    assert t["wait_p90_s"] == 780                     # ceil(0.9·2) = 2nd of 600, 780
    assert t["service_mean_s"] == 300.0               # 10:10 → 10:15
    assert t["on_the_spot_rate"] == 1.0 and t["finished_matters"] == 1
    assert t["empty_posts"] == 0 and t["satisfaction"] is None
    heat = r.get_json()["heatmap"]["counts"]
    assert heat[0][10] == 2                           # Monday, 10 o'clock
    w = _day(api, m, by="window").get_json()["groups"]
    assert [(g["label"], g["served"]) for g in w] == [("1号窗口", 1)]
    c = _day(api, m, by="clerk").get_json()["groups"]
    assert len(c) == 1 and "*" in c[0]["label"]                       # employee number + masked name
    # CSV export: BOM, a header, the rows and the totals.
    r = api.client.get(f"/api/v1/halls/{api.hall_id}/statistics.csv",
                       query_string={"from": "2026-03-02", "to": "2026-03-02", "by": "window"},
                       headers={"Authorization": f"Bearer {m}"})
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["period", "group_key", "group", "issued"]
    blank = rows.index([])
    assert rows[blank - 1][:4] == ["total", "", "all", "2"]
    assert rows[blank + 1][:4] == ["callbacks_by", "key", "label", "sampled"]  # the call-backs' own table


def test_statistics_query_errors_and_roles(api):
    m = api.token("manager")
    for q in ({"from": "2026-13-01"}, {"from": "2026-03-05", "to": "2026-03-01"}, {"group": "year"},
              {"by": "city"}, {"from": "2020-01-01", "to": "2026-03-01"}, {"from": "x" * 500},
              {"to": "9999-12-31"}):
        r = api.client.get(f"/api/v1/halls/{api.hall_id}/statistics", query_string=q,
                           headers={"Authorization": f"Bearer {m}"})
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "validation_error", q
    r = api.get(f"/api/v1/halls/{api.hall_id}/statistics", token=m)          # defaults: the last 7 days
    assert r.status_code == 200 and (r.get_json()["from"], r.get_json()["to"]) == ("2026-02-24", "2026-03-02")
    for who, status in (("admin", 200), ("clerk01", 403), ("kiosk", 403), ("screen", 403), (None, 401)):
        token = api.tokens.get(who) or (api.token(who) if who else None)
        assert api.get(f"/api/v1/halls/{api.hall_id}/statistics", token=token).status_code == status, who
        assert api.get(f"/api/v1/halls/{api.hall_id}/statistics.csv", token=token).status_code == status, who
    assert api.get("/api/v1/halls/424242/statistics", token=m).status_code == 404


def _login(client, username):
    page = client.get("/admin/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/admin/login", data={"username": username, "password": "onevisit-demo", "csrf_token": csrf})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]


def _csrf(page: str) -> str:
    """The session's CSRF secret as a page carries it (it changes at login: no fixation)."""
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_staff_pages_need_a_manager(app, api):
    anon = app.test_client()
    for path in ("/admin/stats", "/admin/config", "/admin/complaints"):
        assert anon.get(path).status_code == 302                             # to the login page
    clerk = app.test_client()
    _login(clerk, "clerk01")
    for path in ("/admin/stats", "/admin/config", "/admin/complaints"):
        assert clerk.get(path).status_code == 403
    mgr = app.test_client()
    _login(mgr, "manager")
    stats = mgr.get("/admin/stats").get_data(as_text=True)
    assert "取号热力图" in stats and "charts.js" in stats
    assert "大厅设置" in mgr.get("/admin/config").get_data(as_text=True)
    # The manager's session cookie works on the API too (reads need no CSRF header).
    assert mgr.get(f"/api/v1/halls/{api.hall_id}/statistics").status_code == 200


def test_public_complaint_pages_and_manager_handling(app, api):
    public = app.test_client()
    page = public.get("/complaints/new").get_data(as_text=True)
    assert "投诉举报表" in page and "被投诉举报人姓名" in page and "投诉举报类型" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"kind": "efficiency", "content": "排队两小时无人叫号，窗口长时间暂停。", "complainant_name": "李雷",
            "contact": "13900001111", "window_id": str(api.windows[2]), "request": "请说明原因"}
    assert public.post("/complaints/new", data=form).status_code == 422          # no CSRF token
    r = public.post("/complaints/new", data={**form, "csrf_token": csrf, "contact": "nope"})
    assert r.status_code == 422 and "contact" in r.get_data(as_text=True)
    r = public.post("/complaints/new", data={**form, "csrf_token": csrf})
    assert r.status_code == 201
    done = r.get_data(as_text=True)
    number = re.search(r'id="complaint-number">([^<]+)<', done).group(1)
    code = re.search(r'id="lookup-code" class="code">([^<]+)<', done).group(1)
    assert number == "TS20260302-0001" and "李雷" not in done
    status = public.get("/complaints/status", query_string={"number": number}).get_data(as_text=True)
    assert "已受理" in status and 'id="answer"' not in status
    assert public.get("/complaints/status", query_string={"number": "TS20990101-0001"}).status_code == 404
    # The manager handles it on the pages.
    mgr = app.test_client()
    _login(mgr, "manager")
    listing = mgr.get("/admin/complaints").get_data(as_text=True)
    csrf_m = _csrf(listing)
    assert number in listing and "李*" in listing and "13900001111" not in listing
    cid = int(re.search(r'/admin/complaints/(\d+)"', listing).group(1))
    detail = mgr.get(f"/admin/complaints/{cid}").get_data(as_text=True)
    assert "139****1111" in detail and "李雷" not in detail and "2号窗口" in detail
    assert mgr.post(f"/admin/complaints/{cid}/handle", data={}).status_code == 400       # CSRF checked
    assert mgr.post(f"/admin/complaints/{cid}/handle", data={"csrf_token": csrf_m}).status_code == 302
    r = mgr.post(f"/admin/complaints/{cid}/answer", data={"csrf_token": csrf_m, "answer": "已核实并整改，致歉。",
                                                         "measures": "增设巡查"})
    assert r.status_code == 302
    status = public.get("/complaints/status", query_string={"number": number, "code": code}).get_data(as_text=True)
    assert "已答复" in status and "已核实并整改" in status and "增设巡查" in status
    # Past the device's limit the page refuses in Chinese, with what was typed kept in the form.
    from hall_queue.feedback.complaints import PER_SOURCE_10_MIN
    for _ in range(PER_SOURCE_10_MIN - 1):
        assert public.post("/complaints/new", data={**form, "csrf_token": csrf}).status_code == 201
    r = public.post("/complaints/new", data={**form, "csrf_token": csrf})
    refused = r.get_data(as_text=True)
    assert r.status_code == 429 and "本设备提交投诉过于频繁" in refused and "too many" not in refused
    assert "排队两小时无人叫号" in refused
