"""A hall day seen by its manager, over the public API of the real server (`onevisit run`).

Unlike ``test_hall_day_api.py`` (every party, error shapes, six clerks at once), this day follows what a manager
has to answer for in the evening: online bookings checked in at the kiosk (on time, late, one left waiting), an
A/B post cover that never leaves a window empty, a transfer, a 过号 visitor coming back, the green channel, a
一件事 bundle, a case accepted with 容缺 then supplied, decided and handed over, a good and a bad rating with its
rectification, a complaint and a consultation. Then every figure that appears in more than one answer (snapshot,
statistics by hall/window/clerk, the desk lists, the leadership page, ratings, case indicators) must agree with the
others and with what the day did. The hall is in Asia/Shanghai; the server's own clock is UTC.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.server import ServerProcess, bearer_session, prepared_instance, staff_session

BOOKED_EARLY = {"name": "诸葛明亮", "id_number": "110101198001011234", "phone": "13700001111"}
BOOKED_LATE = {"name": "上官婉清", "id_number": "110101199002022345", "phone": "13700002222"}
BOOKED_AWAY = {"name": "东方未至", "id_number": "110101197003033456", "phone": "13700003333"}
ELDER = {"name": "欧阳建国", "id_number": "110101195003078517"}
FOUNDER = {"name": "司马光明", "id_number": "220102198805121235"}
COMPLAINANT = {"complainant_name": "张三丰", "contact": "13822223333"}
CALLER = {"contact": "13911112222"}
SECRETS = tuple(v for p in (BOOKED_EARLY, BOOKED_LATE, BOOKED_AWAY, ELDER, FOUNDER, COMPLAINANT, CALLER)
                for v in p.values())
TZ = ZoneInfo("Asia/Shanghai")


def at(stamp: str) -> datetime:
    """An API time stamp (``…Z``) as an aware datetime."""
    return datetime.fromisoformat(stamp)


class Day:
    """The API as the day's parties use it over HTTP; no answer may be a 5xx or carry a full name, ID or phone."""

    def __init__(self, url: str, tokens: dict) -> None:
        self.base = f"{url}/api/v1"
        self.hall = tokens["hall_id"]
        self.sessions = {"kiosk": bearer_session(tokens["kiosk"]), None: requests.Session()}
        self.url = url
        self.screen = tokens["screen"]

    def who(self, name):
        if name not in self.sessions:
            self.sessions[name] = bearer_session(name) if name.startswith("ov") else staff_session(self.url, name)
        return self.sessions[name]

    def call(self, method, path, who=None, body=None, *, expect=None, code=None, headers=None):
        path = path.replace("{hall}", f"halls/{self.hall}")
        r = self.who(who).request(method, f"{self.base}{path}", json=body, headers=headers, timeout=60)
        assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
        leaked = [s for s in SECRETS if s in r.text]
        assert not leaked, (method, path, "unmasked identity in the answer", leaked)
        if expect is not None:
            assert r.status_code == expect, (method, path, r.status_code, r.text[:400])
        if code is not None:
            assert r.json()["error"]["code"] == code, (method, path, r.text[:300])
        return r.json() if r.headers.get("Content-Type", "").startswith("application/json") else r.text

    def get(self, path, who="manager", **kw):
        return self.call("GET", path, who, **kw)

    def post(self, path, who=None, body=None, **kw):
        return self.call("POST", path, who, body if body is not None else {}, **kw)


def run_day(d: Day) -> None:
    """Play the manager's day, checking each answer, then the evening's figures against each other."""
    cat = d.get("/{hall}/catalog", None)
    items = {i["code"]: i["id"] for i in cat["items"]}
    bundles = {b["code"]: b["id"] for b in cat["bundles"]}
    queues = {q["prefix"]: q["id"] for q in cat["queues"]}
    win = {w["number"]: w["id"] for w in d.get("/{hall}/windows")["items"]}
    snap0 = d.get("/{hall}/snapshot")
    day = snap0["hall"]["service_day"]
    server_now = at(snap0["server_time"])
    local_now = server_now.astimezone(TZ)
    assert snap0["hall"]["timezone"] == "Asia/Shanghai"
    # the service day is the hall's local date (shifted back before the 03:00 boundary), not the server's UTC date
    expected_day = (local_now - timedelta(hours=3)).date()
    assert day == expected_day.isoformat(), (day, local_now)

    # ---- bookings: the running slot (booked late, checked in late), the next one (on time), one who never comes
    # 10-minute slots, bookable while running, checked in on time only before the start and from 10 minutes before
    d.call("PUT", "/{hall}/appointments/settings", "manager", {"slot_minutes": 10, "book_close_minutes": -10,
                                                               "checkin_grace_minutes": 0, "checkin_early_minutes": 10},
           expect=200)
    while True:
        now_s = d.get("/{hall}/snapshot")["server_time"]
        slots = d.get(f"/{{hall}}/appointments/slots?matter=i{items['SS002']}", None)["slots"]
        running = next((s for s in slots if s["slot_start"] <= now_s < s["slot_end"]), None)
        if running is None or at(running["slot_end"]) - at(now_s) > timedelta(seconds=20):
            break
        time.sleep((at(running["slot_end"]) - at(now_s)).total_seconds() + 1)   # not across a slot's end mid-test
    later = [s for s in slots if s["slot_start"] > now_s]
    if running is None or len(later) < 3:
        pytest.skip("the last half hour of the hall's calendar day has no slots left to book for later today")
    def book(person, slot):
        return d.post("/{hall}/appointments", None, {"item_id": items["SS002"], "slot": slot["slot"], **person},
                      expect=201)

    late_b = book(BOOKED_LATE, running)
    book(BOOKED_EARLY, later[0])
    book(BOOKED_AWAY, later[2])
    today = d.get(f"/{{hall}}/appointments/today?id_number={BOOKED_EARLY['id_number']}", "kiosk")["items"]
    assert [a["checkin"]["state"] for a in today] == ["on_time"]
    on_time = d.post("/{hall}/appointments/check-in", "kiosk", {"id_number": BOOKED_EARLY["id_number"]}, expect=201)
    assert on_time["priority_class"] == "appointment" and not on_time["late"]
    again = d.post("/{hall}/appointments/check-in", "kiosk", {"id_number": BOOKED_EARLY["id_number"]}, expect=200)
    assert again["id"] == on_time["id"]                                               # a second swipe, same ticket
    late = d.post("/{hall}/appointments/check-in", "kiosk", {"code": late_b["code"]}, expect=201)
    assert late["late"] is True and late["priority_class"] != "appointment", late
    away_today = d.get(f"/{{hall}}/appointments/today?id_number={BOOKED_AWAY['id_number']}", "kiosk")["items"]
    assert [a["checkin"]["state"] for a in away_today] == ["too_early"]
    d.post("/{hall}/appointments/check-in", "kiosk", {"id_number": BOOKED_AWAY["id_number"]}, expect=409,
           code="too_early")

    # ---- walk-ins: green channel (retried press), a bundle, plain tickets
    issued = [on_time, late]
    green_body = {"item_ids": [items["SS003"]], "priority_class": "green", "green_reason": "elderly", **ELDER}
    elder = d.post("/{hall}/tickets", "kiosk", green_body, headers={"Idempotency-Key": "mgr-day-1"}, expect=201)
    assert d.post("/{hall}/tickets", "kiosk", green_body, headers={"Idempotency-Key": "mgr-day-1"},
                  expect=200)["id"] == elder["id"]
    bundle = d.post("/{hall}/tickets", "kiosk", {"bundle_id": bundles["B01"], **FOUNDER}, expect=201)
    plain = [d.post("/{hall}/tickets", "kiosk", {"item_ids": [items[c]]}, expect=201) for c in ("SS001", "SS002",
                                                                                                  "SS006", "SS004", "SS005")]
    issued += [elder, bundle, *plain]
    assert {t["masked_name"] for t in (elder, bundle)} == {"欧**国", "司**明"}

    # ---- morning sign-in; window 1's A clerk leaves, its B clerk (window 2's A) covers: never shown empty
    for n in (1, 2, 3, 7):
        d.post(f"/windows/{win[n]}/sign-in", f"clerk{n:02d}", expect=200)
    assert d.post(f"/windows/{win[1]}/sign-out", "clerk01", expect=200)["status"] == "covered"
    covered_at = d.get("/{hall}/snapshot")["server_time"]
    snap = d.get("/{hall}/snapshot", "kiosk")
    w1 = next(w for w in snap["windows"] if w["id"] == win[1])
    assert w1["status"] == "covered" and w1["covered_by_id"] == win[2]
    assert d.get(f"/windows/{win[1]}", d.screen)["status"] == "covered"

    # ---- window 2 (also covering 1) calls: the green channel first (the booking's slot has not begun)
    served: Counter = Counter()      # window id → legs finished there

    def call(n, clerk):
        return d.post(f"/windows/{win[n]}/call-next", clerk, expect=200)["ticket"]

    def finish(t, n, clerk, outcome="completed", **extra):
        out = d.post(f"/tickets/{t['id']}/finish", clerk, {"outcome": outcome, **extra}, expect=200)
        served[win[n]] += 1
        return out

    first = call(2, "clerk02")
    assert first["id"] == elder["id"], first                        # green channel first (1∶2 interleave)
    d.post(f"/tickets/{first['id']}/start", "clerk02", expect=200)
    owed_by = (local_now + timedelta(days=5)).date().isoformat()
    done = finish(first, 2, "clerk02", "deferred",
                  deferred_materials=[{"name": "清税证明", "due_date": owed_by, "promise": "五日内补交"}])
    [case] = done["cases"]

    # ---- window 3 calls a visitor by number (指定呼叫) and sends him to window 1, which window 2 covers
    d.post(f"/windows/{win[3]}/call/{plain[3]['id']}", "clerk03", expect=200)
    to_w1 = d.post(f"/tickets/{plain[3]['id']}/transfer", "clerk03", {"window_id": win[1], "note": "转1号窗口"},
                   expect=200)
    followed = call(2, "clerk02")
    assert followed["id"] == to_w1["id"], followed                  # a transfer to a covered post follows its cover
    finish(followed, 2, "clerk02")

    # ---- the 容缺 material comes back the same day, handed in at the window; a retried POST changes nothing
    owed = d.post("/{hall}/deferred-supply/lookup", "kiosk", {"id_number": ELDER["id_number"]}, expect=200)
    [mat] = [m for c in owed["cases"] for m in c["materials"]]
    sup = d.post(f"/deferred-materials/{mat['id']}/supply", "clerk02", {"via": "window"},
                 headers={"Idempotency-Key": "mgr-supply-1"}, expect=200)
    again = d.post(f"/deferred-materials/{mat['id']}/supply", "clerk02", {"via": "window"},
                   headers={"Idempotency-Key": "mgr-supply-1"})
    assert again == sup, (sup, again)
    assert d.post("/{hall}/deferred-supply/lookup", "kiosk", {"id_number": ELDER["id_number"]})["count"] == 0

    # ---- window 2 serves on (also window 1's queue while it covers): the bundle and the bookings
    seen = []
    pad2 = d.post(f"/windows/{win[2]}/pad-token", "manager", expect=201)["token"]
    while (t := call(2, "clerk02")) is not None:
        seen.append(t["id"])
        if t["id"] == plain[0]["id"] and seen.count(t["id"]) == 1:
            # 过号: nobody comes; recalled, marked no-show, and the visitor comes back (过号重排)
            d.post(f"/tickets/{t['id']}/recall", "clerk02", expect=200)
            d.post(f"/tickets/{t['id']}/no-show", "clerk02", expect=200)
            d.post(f"/tickets/{t['id']}/requeue", "clerk02", expect=200)
            continue
        if t["id"] == plain[1]["id"]:
            # 按责转办: to window 3
            leg = d.post(f"/tickets/{t['id']}/transfer", "clerk02", {"window_id": win[3], "note": "转窗口3"},
                         expect=200)
            continue
        if t["id"] == plain[4]["id"]:
            # 按责转办 to another queue: 社保医保即办, served at window 7
            to_b = d.post(f"/tickets/{t['id']}/transfer", "clerk02", {"queue_id": queues["B"], "note": "转社保"},
                          expect=200)
            assert to_b["queue_prefix"] == "B" and to_b["number"] == t["number"]
            continue
        if t["id"] == plain[2]["id"]:
            d.post(f"/tickets/{t['id']}/recall", "clerk02", expect=200)
            d.post(f"/tickets/{t['id']}/no-show", "clerk02", expect=200)      # this one never comes back
            continue
        finish(t, 2, "clerk02")
        if t["id"] == late["id"]:
            d.post(f"/tickets/{late['id']}/rating", pad2, {"score": 5}, expect=201)
            d.post(f"/tickets/{late['id']}/rating", pad2, {"score": 5}, expect=409, code="already_rated")
    assert Counter(seen)[plain[0]["id"]] == 2 and late["id"] in seen and bundle["id"] in seen, seen

    t7 = call(7, "clerk07")
    assert t7["id"] == to_b["id"]
    finish(t7, 7, "clerk07")

    # ---- window 1's A clerk is back; window 3 takes the transferred leg, serves it and is rated badly
    assert d.post(f"/windows/{win[1]}/sign-in", "clerk01", expect=200)["status"] == "idle"
    t3 = call(3, "clerk03")
    assert t3["id"] == leg["id"] and t3["number"] == plain[1]["number"]
    d.post(f"/tickets/{t3['id']}/start", "clerk03", expect=200)
    time.sleep(2.2)                                                 # a service that lasts: desk and statistics agree
    finish(t3, 3, "clerk03", "notice", missing_materials=["营业执照"])
    pad3 = d.post(f"/windows/{win[3]}/pad-token", "manager", expect=201)["token"]
    d.post(f"/tickets/{t3['id']}/rating", pad3, {"score": 1, "reasons": ["attitude"], "comment": "态度差"},
           expect=201)
    recs = d.get("/{hall}/rectifications")["items"]
    [rec] = [r for r in recs if r["ticket_id"] == t3["id"]]
    d.post(f"/rectifications/{rec['id']}/assign", "manager", {"fix_plan": "窗口服务规范培训"}, expect=200)
    d.post(f"/rectifications/{rec['id']}/fix", "manager", {"fix": "已完成培训"}, expect=200)
    d.post(f"/rectifications/{rec['id']}/feedback", "manager", {"feedback": "已电话回访致歉"}, expect=200)
    d.post(f"/rectifications/{rec['id']}/close", "manager", expect=200)

    # ---- the founder rates the bundle badly from the phone (real name): the loop runs, is re-opened once, closes
    follow = bundle["follow_code"]
    assert [x["ticket_id"] for x in d.get(f"/follow/{follow}/rating", None)["to_rate"]] == [bundle["id"]]
    d.post(f"/follow/{follow}/rating", None, {"ticket_id": bundle["id"], "score": 2, "reasons": ["efficiency"]},
           expect=201)
    [bad] = [r for r in d.get("/{hall}/rectifications")["items"] if r["ticket_id"] == bundle["id"]]
    assert bad["rating"]["real_name"] is True and bad["responsible_clerk_id"] is not None
    d.post(f"/rectifications/{bad['id']}/assign", "manager", {"fix_plan": "优化一件事材料清单"}, expect=200)
    d.post(f"/rectifications/{bad['id']}/fix", "manager", {"fix": "材料清单已精简"}, expect=200)
    d.post(f"/rectifications/{bad['id']}/feedback", "manager", {"feedback": "已改进，欢迎再来"}, expect=200)
    d.post(f"/follow/{follow}/rectification-answer", None, {"rectification_id": bad["id"], "satisfied": False},
           expect=200)
    d.post(f"/rectifications/{bad['id']}/fix", "manager", {"fix": "增设一件事专窗"}, expect=200)
    d.post(f"/rectifications/{bad['id']}/feedback", "manager", {"feedback": "已增设专窗"}, expect=200)
    d.post(f"/follow/{follow}/rectification-answer", None, {"rectification_id": bad["id"], "satisfied": True},
           expect=200)
    d.post(f"/rectifications/{bad['id']}/close", "manager", expect=200)

    # ---- a complaint and a consultation
    d.post("/{hall}/complaints", None, {"kind": "attitude", "content": "窗口三工作人员态度不好",
                                        **COMPLAINANT}, expect=201)
    q = d.post("/{hall}/consultations", "clerk01", {"channel": "phone", "question": "公积金提取条件",
                                                    **CALLER}, expect=201)
    d.post(f"/consultations/{q['id']}/answer", "clerk01", {"answer": "连续缴存满3个月即可"}, expect=200)

    # ---- the case: decided by its department, result ready, collected at window 12
    cid = case["id"]
    for step, body in (("take", {}), ("decide", {"decision": "approved"}), ("result-ready", {"location": "出件柜B-01"})):
        d.post(f"/cases/{cid}/{step}", "dept-ss", body, expect=200)
    pick = d.post("/{hall}/pickups", "kiosk", {"id_number": ELDER["id_number"]}, headers={"Idempotency-Key": "pk-m1"},
                  expect=201)
    assert d.post("/{hall}/pickups", "kiosk", {"id_number": ELDER["id_number"]},
                  headers={"Idempotency-Key": "pk-m1"}, expect=200)["id"] == pick["id"]
    issued.append(pick)
    d.post(f"/windows/{win[12]}/sign-in", "clerk12", expect=200)
    tg = call(12, "clerk12")
    assert tg["id"] == pick["id"]
    d.post(f"/cases/{cid}/hand-over", "clerk12", {"method": "pickup", "id_number": ELDER["id_number"],
                                                  "ticket_id": tg["id"]}, expect=200)
    finish(tg, 12, "clerk12")
    assert d.get(f"/cases/{cid}")["state"] == "handed_over"

    # ---- the rest of the day: every window serves what is left
    for n in (1, 2, 3, 7):
        while (t := call(n, f"clerk{n:02d}")) is not None:
            finish(t, n, f"clerk{n:02d}", "consultation")

    # ---- evening: the manager's figures
    snap = d.get("/{hall}/snapshot")
    assert all(q["waiting"] == 0 for q in snap["queues"]) and all(w["ticket"] is None for w in snap["windows"])
    legs = {t["id"]: d.get(f"/tickets/{t['id']}") for t in issued + [leg, to_w1, to_b]}
    assert {t["service_day"] for t in legs.values()} == {day}
    by_status = Counter(t["status"] for t in legs.values())
    assert by_status == {"done": 9, "transferred": 3, "no_show": 1}, by_status
    q = f"from={day}&to={day}"
    stats = d.get(f"/{{hall}}/statistics?{q}")
    tot = stats["totals"]
    assert [p["period"] for p in d.get("/{hall}/statistics")["periods"]][-1] == day      # the default range ends today
    assert stats["periods"][0] == {**tot, "period": day, "start": day, "end": day}
    assert (tot["issued"], tot["called"], tot["served"], tot["no_show"]) == (len(issued), 13, 9, 1), tot
    assert (tot["deferred"], tot["notices"], tot["ratings"]) == (1, 1, 3), tot
    assert tot["rating_mean"] == round((5 + 1 + 2) / 3, 2) and tot["satisfaction"] == round(1 / 3, 4)

    waits = [(at(t["called_at"]) - at(t["issued_at"])).total_seconds() for t in legs.values()
             if t["transferred_from_id"] is None]
    assert abs(tot["wait_mean_s"] - sum(waits) / len(waits)) <= 1.0, (tot["wait_mean_s"], waits)   # whole seconds
    for by in ("window", "clerk", "queue"):
        groups = d.get(f"/{{hall}}/statistics?{q}&by={by}")["groups"]
        for key in ("called", "served", "no_show", "ratings", "deferred", "notices", "completed"):
            assert sum(g[key] for g in groups) == tot[key], (by, key, groups)
    window_stats = d.get(f"/{{hall}}/statistics?{q}&by=window")
    by_window = {g["key"]: g for g in window_stats["groups"]}
    assert {k: g["served"] for k, g in by_window.items() if g["served"]} == dict(served)
    for n in (1, 2, 3, 12):
        desk = d.get(f"/windows/{win[n]}/desk-lists")["today"]
        assert desk["served"] == served.get(win[n], 0) and desk["service_day"] == day
        mean = by_window[win[n]]["service_mean_s"]
        assert (desk["avg_service_s"] is None) == (mean is None) and (mean is None or abs(desk["avg_service_s"] - mean) <= 0.5), (n, desk, mean)
    assert by_window[win[3]]["service_mean_s"] >= 1                          # 2.2 s and a transfer at once
    # empty posts in one answer: the duty loop records a never-staffed window's post afterwards, from opening time
    assert sum(g["empty_posts"] for g in by_window.values()) == window_stats["totals"]["empty_posts"]
    for n in (2, 3, 7, 12):                            # each window's mean wait: its first legs, issue → (last) call
        mine = [(at(t["called_at"]) - at(t["issued_at"])).total_seconds() for t in legs.values()
                if t["transferred_from_id"] is None and t["window_id"] == win[n] and t["called_at"]]
        mean = by_window[win[n]]["wait_mean_s"]
        assert (mean is None) == (not mine) and (not mine or abs(mean - sum(mine) / len(mine)) <= 1.0), (n, mean, mine)
    a_clerk = {w["id"]: w["a_clerk_id"] for w in d.get("/{hall}/windows")["items"]}
    by_clerk = d.get(f"/{{hall}}/statistics?{q}&by=clerk")["groups"]
    assert {g["key"]: g["served"] for g in by_clerk if g["served"]} == {a_clerk[w]: n for w, n in served.items()}
    assert all("*" in g["label"] for g in by_clerk)                          # employee number and masked name
    # the desk's 过号 list: the one who never came back, not the one who did
    assert [t["id"] for t in d.get(f"/windows/{win[2]}/desk-lists")["no_shows"]] == [plain[2]["id"]]
    assert by_window[win[1]]["covers"] == 1 == window_stats["totals"]["covers"]
    # 不得空岗: while window 1's A clerk was away its B clerk covered; no empty-post alert after the sign-out
    assert not [a for a in d.get("/{hall}/alerts")["items"] if a["window_id"] == win[1] and a["kind"] == "empty_post"
                and a["raised_at"] >= covered_at]
    sl = d.get(f"/{{hall}}/service-levels/statistics?{q}")["queues"]
    assert sum(r["called"] for r in sl) == tot["called"] - 3                   # first legs only: not the transfers
    assert sum(r["services"] for r in sl) == tot["served"] + 3                 # … but the transferred legs' service

    appts = d.get("/{hall}/appointments")
    assert appts["date"] == local_now.date().isoformat()
    summary = appts["summary"]
    # the two checked in are served (the 5-second sweep marks them so); the third is still awaited
    assert (summary["total"], summary["checked_in"] + summary["served"], summary["booked"], summary["late"]) == \
        (3, 2, 1, 1), summary
    assert sorted(a["ticket_status"] or "" for a in appts["items"]) == ["", "done", "done"]

    ratings = [r for r in d.get("/{hall}/ratings")["items"] if r["ticket_id"] in legs]
    assert len(ratings) == tot["ratings"]
    # 好差评 "today" is the service day, as in the statistics, not the last 24 hours (yesterday's demo ratings)
    today_ratings = d.get("/{hall}/ratings?days=1")
    assert today_ratings["total"] == tot["ratings"] and today_ratings["by_score"] == \
        {"5": 1, "4": 0, "3": 0, "2": 1, "1": 1}, today_ratings["by_score"]
    assert today_ratings["good_rate"] == tot["satisfaction"]
    recs = [r for r in d.get("/{hall}/rectifications")["items"] if r["ticket_id"] in legs]
    assert len(recs) == sum(r["score"] <= 2 for r in ratings) == 2 and {r["status"] for r in recs} == {"closed"}
    loop = d.get(f"/{{hall}}/rating-loop?month={day[:7]}")
    assert (loop["real_name_bad"], loop["called_back"], loop["fixed"], loop["reopened"]) == (1, 1, 1, 1), loop

    ci = d.get(f"/{{hall}}/case-indicators?{q}")["counts"]
    # the elder's 容缺 case, handed over; on time, late, the plain 办结 and the bundle (one application) on the spot
    assert ci["applications_concluded"] == 7 and ci["accepted"] == ci["decided"] == 11, ci
    month = {i["key"]: i["value"] for i in d.get(f"/{{hall}}/case-indicators?from={day[:8]}01&to={day}")["indicators"]}
    lead = {r["key"]: r["values"][-1] for r in d.get("/{hall}/leadership")["indicators"] if r["values"] is not None}
    for key in ("on_the_spot_acceptance_rate", "on_time_rate", "immediate_rate", "one_trip_rate"):
        assert lead[key] == month[key], (key, lead[key], month[key])
    asked = d.get(f"/{{hall}}/consultation-indicators?{q}")["counts"]
    assert (asked["received"], asked["answered"]) == (1, 1)
    for path in ("/{hall}/consultations", f"/windows/{win[3]}/desk-lists", "/{hall}/audit-log?limit=300",
                 "/{hall}/complaints", "/{hall}/cases"):
        d.get(path)                                                             # masked, like every answer


def test_a_hall_day_as_its_manager_sees_it(tmp_path):
    srv = ServerProcess(prepared_instance(tmp_path, demo=True))
    tokens = json.loads((srv.instance / "demo-tokens.json").read_text())
    srv.start(timeout=90)
    try:
        run_day(Day(srv.url, tokens))
    finally:
        srv.stop()
