"""The leadership page's figures: every efficiency indicator of 000 §12.3.4 and 002 §11.3.4, month by month.

Nothing is computed here twice: the case indicators come from ``cases.indicators``, the consultation ones
from ``feedback.consultations``, satisfaction and the month periods from ``floor.statistics``. What a hall
cannot know on its own — how many of the region's items are handled in the hall (受理集中率 / 集中受理率),
how many cases were finished online (网上办结率), and which items the province lists as "最多跑一次"
(事项比率) — is marked ``needs_platform`` and shown as such, never as 0.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hall_queue.cases import indicators as case_indicators
from hall_queue.domain.calendar import service_day
from hall_queue.domain.models import Hall
from hall_queue.feedback import consultations
from hall_queue.floor import statistics as stats

MAX_MONTHS = 24
PLATFORM_NOTE = "需要省级政务服务平台的数据，本大厅系统无法单独计算"
# (key, label, source, source key, definition for rows whose source has none of its own). Order follows the
# clauses' lists; a case-indicator or consultation row takes its definition from its own module.
ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("concentration_rate", "受理集中率（集中受理率）", "platform", "",
     "进驻大厅集中受理的政务服务事项数 ÷ 本级应进驻的政务服务事项总数"),
    ("on_the_spot_acceptance_rate", "当场受理率", "cases", "on_the_spot_acceptance_rate", ""),
    ("on_time_rate", "按时办结率", "cases", "on_time_rate", ""),
    ("online_completion_rate", "网上办结率", "platform", "", "通过网上办理办结的件数 ÷ 办结件总数"),
    ("immediate_rate", "即办件比率", "cases", "immediate_rate", ""),
    ("one_visit_item_rate", "“最多跑一次”事项比率", "platform", "",
     "列入“最多跑一次”清单的事项数 ÷ 政务服务事项总数（清单由省级平台公布）"),
    ("one_trip_rate", "一次办成率（本大厅实测）", "cases", "one_trip_rate", ""),
    ("consultation_reply_rate", "咨询回复率", "consultations", "reply_rate", ""),
    ("consultation_on_time_rate", "咨询及时率", "consultations", "on_time_rate", ""),
    ("satisfaction", "好差评满意率", "statistics", "satisfaction",
     "期内号票评价中“满意”“非常满意”的数量 ÷ 评价总数"),
)


def month_range(today: date, months: int, last_month: date | None = None) -> tuple[date, date]:
    """The first day of the earliest month and the last day shown (today within the current month)."""
    end = (last_month or today).replace(day=1)
    y, m = end.year, end.month - (months - 1)
    while m <= 0:
        y, m = y - 1, m + 12
    if end.year == today.year and end.month == today.month:
        last = today
    else:
        nxt = date(end.year + (end.month == 12), end.month % 12 + 1, 1)
        last = date.fromordinal(nxt.toordinal() - 1)
    return date(y, m, 1), last


def compute(session: Session, hall: Hall, *, now: datetime, months: int = 12,
            last_month: date | None = None) -> dict[str, Any]:
    """Each indicator with its definition and one value per month (null where there is nothing to count)."""
    months = max(1, min(months, MAX_MONTHS))
    today = service_day(hall, now)  # 01:00 on the 1st still reports the month before, as the statistics do
    if last_month is not None and not stats.EARLIEST <= last_month <= stats.LATEST:
        raise stats.StatsError(f"months must lie between {stats.EARLIEST:%Y-%m} and {stats.LATEST:%Y-%m}")
    first, last = month_range(today, months, last_month)
    first = max(first, stats.EARLIEST)
    plist = stats.periods(stats.StatsQuery(first, last, "month", "hall"))
    by_month: dict[str, dict[str, Any]] = {}
    # statistics answers at most MAX_RANGE_DAYS at a time: a year per call.
    for i in range(0, len(plist), 12):
        chunk = plist[i:i + 12]
        q = stats.StatsQuery(chunk[0][1], chunk[-1][2], "month", "hall")
        by_month.update({p["period"]: p for p in stats.compute(session, hall, q, now=now)["periods"]})
    values: dict[str, list[float | None]] = {key: [] for key, *_ in ROWS}
    definitions: dict[str, str] = {}
    labels = []
    for start, lo, hi in plist:
        label = stats.period_label(start, "month")
        labels.append(label)
        cases = {i["key"]: i for i in case_indicators.compute(session, hall, lo, hi, now=now)["indicators"]}
        asked = {i["key"]: i for i in consultations.indicators(session, hall, lo, hi, now=now)["indicators"]}
        for key, _, source, src_key, _ in ROWS:
            if source == "cases":
                values[key].append(cases[src_key]["value"])
                definitions[key] = cases[src_key]["definition"]
            elif source == "consultations":
                values[key].append(asked[src_key]["value"])
                definitions[key] = asked[src_key]["definition"]
            elif source == "statistics":
                values[key].append(by_month.get(label, {}).get(src_key))
            else:
                values[key].append(None)
    rows = []
    for key, label, source, _, definition in ROWS:
        platform = source == "platform"
        rows.append({"key": key, "label": label, "definition": definitions.get(key, definition),
                     "needs_platform": platform, "note": PLATFORM_NOTE if platform else "",
                     "values": None if platform else values[key]})
    return {"from": first.isoformat(), "to": last.isoformat(), "months": labels, "indicators": rows}
