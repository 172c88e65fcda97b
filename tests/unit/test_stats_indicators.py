"""Statistics (000 §12.3.4, 002 §11.3.4) on a hand-built fixture with exact timestamps.

Every expected figure is written as a literal, with the arithmetic in a comment beside it.
Times below are UTC; the hall is in Asia/Shanghai (UTC+8) with its day boundary at 03:00 local,
so service day D runs from D-1 19:00 UTC to D 19:00 UTC.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from hall_queue.floor import statistics as st
from hall_queue.domain.calendar import service_day
from hall_queue.domain.models import (Base, Hall, PostInterval, Queue, Rating, ServiceCategory, ServiceItem, Staff, Ticket,
                               Window)

MON, TUE = date(2026, 3, 2), date(2026, 3, 3)
NOW = datetime(2026, 3, 3, 8, 30)  # Tue 16:30 local


def at(day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, 3, day, hh, mm) if day > 0 else datetime(2026, 2, 28, hh, mm)


@pytest.fixture
def world():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    s = Session(engine)
    hall = Hall(name="测试厅", code="t", timezone="Asia/Shanghai", day_boundary="03:00", opening_hours={})
    s.add(hall)
    s.flush()
    cat = ServiceCategory(hall_id=hall.id, code="C", name="综合")
    s.add(cat)
    s.flush()
    x1 = ServiceItem(hall_id=hall.id, category_id=cat.id, code="X1", name="即办一", kind="immediate")
    x2 = ServiceItem(hall_id=hall.id, category_id=cat.id, code="X2", name="承诺一", kind="promised", promised_days=5)
    x3 = ServiceItem(hall_id=hall.id, category_id=cat.id, code="X3", name="即办二", kind="immediate")
    x4 = ServiceItem(hall_id=hall.id, category_id=cat.id, code="X4", name="停用", kind="promised", promised_days=3,
                     active=False)
    qa, qb = Queue(hall_id=hall.id, prefix="A", name="综合"), Queue(hall_id=hall.id, prefix="B", name="税务")
    c1 = Staff(hall_id=hall.id, username="c1", display_name="张三丰", employee_no="101", role="clerk", password_hash="x")
    c2 = Staff(hall_id=hall.id, username="c2", display_name="李四", employee_no="102", role="clerk", password_hash="x")
    s.add_all([x1, x2, x3, x4, qa, qb, c1, c2])
    s.flush()
    w1 = Window(hall_id=hall.id, number=1, name="一号", a_clerk_id=c1.id, b_clerk_id=c2.id, call_rules=[])
    w2 = Window(hall_id=hall.id, number=2, name="二号", a_clerk_id=c2.id, b_clerk_id=c1.id, call_rules=[])
    s.add_all([w1, w2])
    s.flush()
    seq = iter(range(1, 1000))
    made: dict[str, Ticket] = {}

    def ticket(name, queue, items, issued, *, called=None, started=None, finished=None, window=None, clerk=None,
               status="done", outcome=None, person=None, leg=0, origin=None):
        day = service_day(hall, issued)
        t = Ticket(hall_id=hall.id, queue_id=queue.id, number_queue_id=queue.id, service_day=day, seq=next(seq),
                   leg=leg, number=name, issued_at=issued, queue_key=0.0, called_at=called, started_at=started,
                   finished_at=finished, window_id=window.id if window else None, clerk_id=clerk.id if clerk else None,
                   status=status, outcome=outcome, id_hash=person, follow_code=f"f-{name}", outcome_detail={},
                   origin_ticket_id=origin.id if origin else None)
        t.items = items
        s.add(t)
        s.flush()
        made[name] = t
        return t

    # Saturday before the range: person p4 is told which materials are missing (一次性告知).
    ticket("T0", qa, [x1], at(0, 2, 0), called=at(0, 2, 5), started=at(0, 2, 5), finished=at(0, 2, 15), window=w1,
           clerk=c1, outcome="notice", person="p4")
    # Service day 2026-03-01 (Mon 02:30 local is before the 03:00 boundary): outside the range.
    ticket("T12", qa, [x1], datetime(2026, 3, 1, 18, 30), status="cancelled")
    # Monday.
    ticket("T1", qa, [x1], at(2, 1, 0), called=at(2, 1, 10), started=at(2, 1, 11), finished=at(2, 1, 21), window=w1,
           clerk=c1, outcome="completed", person="p1")
    ticket("T2", qa, [x2], at(2, 1, 5), called=at(2, 1, 25), started=at(2, 1, 26), finished=at(2, 1, 46), window=w1,
           clerk=c1, outcome="notice", person="p2")
    ticket("T3", qa, [x1], at(2, 1, 20), called=at(2, 1, 50), window=w2, clerk=c2, status="no_show")
    t4 = ticket("T4", qb, [x1], at(2, 2, 0), called=at(2, 2, 5), started=at(2, 2, 5), finished=at(2, 2, 15),
                window=w2, clerk=c2, status="transferred", person="p3")
    ticket("T4b", qa, [x1], at(2, 2, 0), called=at(2, 2, 30), started=at(2, 2, 31), finished=at(2, 2, 41), window=w1,
           clerk=c1, outcome="deferred", person="p3", leg=1, origin=t4)
    ticket("T5", qa, [x1], at(2, 2, 10), status="cancelled")
    ticket("T6", qb, [x1, x2], at(2, 6, 0), called=at(2, 6, 1), started=at(2, 6, 2), finished=at(2, 6, 12), window=w2,
           clerk=c2, outcome="consultation")
    # Tuesday.
    ticket("T7", qa, [x2], at(3, 1, 0), called=at(3, 1, 4), started=at(3, 1, 5), finished=at(3, 1, 35), window=w1,
           clerk=c1, outcome="accepted", person="p2")
    ticket("T8", qa, [x1], at(3, 2, 0), called=at(3, 2, 10), started=at(3, 2, 10), finished=at(3, 2, 20), window=w2,
           clerk=c2, outcome="completed", person="p1")
    ticket("T9", qb, [x1], at(3, 3, 0), called=at(3, 3, 2), started=at(3, 3, 3), finished=at(3, 3, 8), window=w2,
           clerk=c2, outcome="refused")
    ticket("T10", qa, [x1], at(3, 5, 0), called=at(3, 5, 10), started=at(3, 5, 10), finished=at(3, 5, 20), window=w1,
           clerk=c1, outcome="completed", person="p4")
    # Wednesday: outside the range.
    ticket("T11", qa, [x1], datetime(2026, 3, 4, 1, 0), status="cancelled")
    s.add_all([
        PostInterval(hall_id=hall.id, window_id=w1.id, kind="cover", covering_window_id=w2.id,
                     started_at=at(2, 3, 0), ended_at=at(2, 3, 20)),
        # Crosses the boundary between Monday and Tuesday (19:00 UTC): 10 minutes each.
        PostInterval(hall_id=hall.id, window_id=w2.id, kind="empty", started_at=at(2, 18, 50), ended_at=at(2, 19, 10)),
        # Still open: runs until NOW.
        PostInterval(hall_id=hall.id, window_id=w1.id, kind="empty", started_at=at(3, 8, 0)),
        PostInterval(hall_id=hall.id, window_id=w1.id, kind="cover", covering_window_id=w2.id,
                     started_at=at(0, 3, 0), ended_at=at(0, 4, 0)),
    ])
    for name, score, w, c in (("T1", 5, w1, c1), ("T2", 2, w1, c1), ("T7", 4, w1, c1), ("T8", 5, w2, c2)):
        s.add(Rating(hall_id=hall.id, ticket_id=made[name].id, window_id=w.id, clerk_id=c.id, score=score,
                     rated_at=made[name].finished_at))
    s.flush()
    yield s, hall, {"w1": w1.id, "w2": w2.id, "qa": qa.id, "qb": qb.id, "c1": c1.id, "c2": c2.id}
    s.close()
    engine.dispose()


def test_totals_and_days_match_the_hand_computation(world):
    s, hall, _ = world
    r = st.compute(s, hall, st.StatsQuery(MON, TUE, "day", "hall"), now=NOW)
    t = r["totals"]
    assert t["issued"] == 10          # first legs T1 T2 T3 T4 T5 T6 (Mon) + T7 T8 T9 T10 (Tue); T0 T11 T12 outside
    assert t["called"] == 10          # T1 T2 T3 T4 T4b T6 + T7 T8 T9 T10
    assert t["served"] == 8           # done: T1 T2 T4b T6 + T7 T8 T9 T10
    assert t["no_show"] == 1 and t["no_show_rate"] == 0.1                      # T3: 1 / 10
    assert t["wait_mean_s"] == 613.3  # (600+1200+1800+300+60 + 240+600+120+600) / 9 = 5520 / 9
    assert t["wait_p90_s"] == 1800    # sorted 9 waits, position ceil(0.9*9) = 9 → 1800
    assert t["service_mean_s"] == 766.7  # (600+1200+600+600+600 + 1800+600+300+600) / 9 = 6900 / 9
    assert t["finished_matters"] == 7  # T1 T2 T4b T7 T8 T9 T10 (T6 is a consultation)
    assert t["completed"] == 3 and t["on_the_spot_rate"] == 0.4286            # T1 T8 T10: 3 / 7
    assert t["deferred"] == 1 and t["notices"] == 1                             # T4b; T2
    assert t["immediate_handled_share"] == 0.7143  # items X1 on T1 T4b T8 T9 T10 of 7 finished matters: 5 / 7
    assert (t["covers"], t["cover_minutes"]) == (1, 20.0)                     # W1 covered 03:00–03:20 Mon
    assert (t["empty_posts"], t["empty_minutes"]) == (2, 50.0)                # W2 20 min + W1 08:00–08:30 (open)
    assert t["ratings"] == 4 and t["rating_mean"] == 4.0                      # (5+2+4+5) / 4
    assert t["satisfaction"] == 0.75                                           # scores ≥ 4: 5, 4, 5 → 3 / 4
    # Matters: p1 T1 (1 visit), p3 T4→T4b (1), p2 T2 notice → T7 (2), p1 T8 (1, T1 had concluded),
    # p4 T0 notice (Sat) → T10 (2): 3 of 5 in one visit.
    assert (t["matters"], t["one_visit"], t["one_visit_rate"]) == (5, 3, 0.6)
    mon, tue = r["periods"]
    assert (mon["period"], tue["period"]) == ("2026-03-02", "2026-03-03")
    assert (mon["issued"], tue["issued"]) == (6, 4)
    assert mon["no_show_rate"] == 0.1667                                       # 1 / 6
    assert mon["wait_mean_s"] == 792.0 and mon["wait_p90_s"] == 1800           # 3960 / 5; ceil(4.5) = 5th
    assert tue["wait_mean_s"] == 390.0 and tue["wait_p90_s"] == 600            # 1560 / 4; ceil(3.6) = 4th of 120 240 600 600
    assert mon["service_mean_s"] == 720.0 and tue["service_mean_s"] == 825.0   # 3600 / 5; 3300 / 4
    assert mon["on_the_spot_rate"] == 0.3333 and tue["on_the_spot_rate"] == 0.5  # 1 / 3; 2 / 4
    assert mon["immediate_handled_share"] == 0.6667 and tue["immediate_handled_share"] == 0.75  # 2 / 3; 3 / 4
    assert (mon["covers"], mon["cover_minutes"], mon["empty_posts"], mon["empty_minutes"]) == (1, 20.0, 1, 10.0)
    assert (tue["covers"], tue["cover_minutes"], tue["empty_posts"], tue["empty_minutes"]) == (0, 0.0, 1, 40.0)
    assert (mon["satisfaction"], mon["rating_mean"]) == (0.5, 3.5)             # 5, 2
    assert (tue["satisfaction"], tue["rating_mean"]) == (1.0, 4.5)             # 4, 5
    assert (mon["matters"], mon["one_visit_rate"]) == (2, 1.0)                 # T1, T4b
    assert (tue["matters"], tue["one_visit"], tue["one_visit_rate"]) == (3, 1, 0.3333)  # T7 (2), T8 (1), T10 (2)
    heat = r["heatmap"]["counts"]
    # Local issue hours: Mon 09:00 09:05 09:20 10:00 10:10 14:00; Tue 09:00 10:00 11:00 13:00.
    assert heat[0][9] == 3 and heat[0][10] == 2 and heat[0][14] == 1
    assert heat[1][9] == heat[1][10] == heat[1][11] == heat[1][13] == 1
    assert sum(map(sum, heat)) == 10
    # Catalogue: active items X1 X2 X3, immediate X1 X3 → 2 / 3 (X4 is inactive).
    assert r["catalog"] == {"active_items": 3, "immediate_items": 2, "immediate_item_share": 0.6667}


def test_by_window(world):
    s, hall, ids = world
    r = st.compute(s, hall, st.StatsQuery(MON, TUE, "day", "window"), now=NOW)
    g = {x["key"]: x for x in r["groups"]}
    w1, w2 = g[ids["w1"]], g[ids["w2"]]
    assert [x["label"] for x in r["groups"]] == ["1号窗口", "2号窗口"]
    assert w1["issued"] is None                                          # tickets are issued to queues, not windows
    assert (w1["called"], w1["served"], w1["no_show_rate"]) == (5, 5, 0.0)  # T1 T2 T4b T7 T10
    assert w1["wait_mean_s"] == 660.0 and w1["wait_p90_s"] == 1200       # first legs T1 T2 T7 T10: 2640 / 4; 4th of 240 600 600 1200
    assert w1["service_mean_s"] == 960.0                                  # (600+1200+600+1800+600) / 5
    assert w1["on_the_spot_rate"] == 0.4                                  # T1 T10 of 5
    assert (w1["covers"], w1["cover_minutes"], w1["empty_posts"], w1["empty_minutes"]) == (1, 20.0, 1, 30.0)
    assert w1["satisfaction"] == 0.6667                                   # 5, 2, 4 → 2 / 3
    assert (w1["matters"], w1["one_visit_rate"]) == (4, 0.5)              # T1 (1), T4b (1), T7 (2), T10 (2)
    assert (w2["called"], w2["no_show_rate"], w2["served"]) == (5, 0.2, 3)  # T3 T4 T6 T8 T9; T3 no-show
    assert w2["wait_mean_s"] == 576.0 and w2["wait_p90_s"] == 1800       # (1800+300+60+600+120) / 5
    assert w2["service_mean_s"] == 525.0                                  # (600+600+600+300) / 4
    assert w2["on_the_spot_rate"] == 0.5                                  # T8 of T8 T9
    assert (w2["empty_posts"], w2["empty_minutes"]) == (1, 20.0)
    assert (w2["satisfaction"], w2["matters"], w2["one_visit_rate"]) == (1.0, 1, 1.0)
    # Totals stay the hall's whatever the grouping (T5 was never called at a window).
    assert r["totals"]["issued"] == 10 and r["totals"]["served"] == 8


def test_by_queue_and_clerk_and_week(world):
    s, hall, ids = world
    r = st.compute(s, hall, st.StatsQuery(MON, TUE, "week", "queue"), now=NOW)
    g = {x["key"]: x for x in r["groups"]}
    assert (g[ids["qa"]]["issued"], g[ids["qb"]]["issued"]) == (7, 3)     # A: T1 T2 T3 T5 T7 T8 T10; B: T4 T6 T9
    assert g[ids["qa"]]["covers"] is None                                  # posts belong to windows, not queues
    assert [p["period"] for p in r["periods"]] == ["2026-W10"]
    assert r["periods"][0]["issued"] == 10 and r["periods"][0]["served"] == 8
    r = st.compute(s, hall, st.StatsQuery(MON, TUE, "month", "clerk"), now=NOW)
    labels = [x["label"] for x in r["groups"]]
    assert labels == ["101 张*丰", "102 李*"]                             # employee number and masked name only
    assert r["periods"][0]["period"] == "2026-03"


def test_empty_range_gives_nulls_not_zeros(world):
    s, hall, _ = world
    r = st.compute(s, hall, st.StatsQuery(date(2026, 1, 5), date(2026, 1, 6)), now=NOW)
    t = r["totals"]
    assert t["issued"] == 0 and t["wait_mean_s"] is None and t["no_show_rate"] is None
    assert t["satisfaction"] is None and t["one_visit_rate"] is None and t["on_the_spot_rate"] is None


@pytest.mark.parametrize("q", [st.StatsQuery(TUE, MON), st.StatsQuery(MON, TUE, "year"),
                               st.StatsQuery(MON, TUE, "day", "city"), st.StatsQuery(date(2024, 1, 1), TUE),
                               st.StatsQuery(date(9999, 12, 25), date(9999, 12, 31))])
def test_bad_queries_are_refused(world, q):
    s, hall, _ = world
    with pytest.raises(st.StatsError):
        st.compute(s, hall, q, now=NOW)


def test_p90_and_periods():
    assert st.p90([]) is None
    assert st.p90([5]) == 5
    assert st.p90(list(range(1, 11))) == 9        # ceil(0.9*10) = 9th value
    assert st.p90(list(range(1, 12))) == 10       # ceil(9.9) = 10th value
    ps = st.periods(st.StatsQuery(date(2026, 1, 30), date(2026, 3, 2), "month"))
    assert [(p[1].isoformat(), p[2].isoformat()) for p in ps] == [
        ("2026-01-30", "2026-01-31"), ("2026-02-01", "2026-02-28"), ("2026-03-01", "2026-03-02")]
