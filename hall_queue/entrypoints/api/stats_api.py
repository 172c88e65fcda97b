"""Statistics API (issue 6b): the indicators of ``hall_queue.floor.statistics`` as JSON or CSV."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Response, request

from hall_queue.infrastructure.csv_export import csv_text
from hall_queue.feedback import callbacks
from hall_queue.floor import statistics as stats
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.calendar import service_day
from hall_queue.domain.models import Hall
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api.base import MANAGERS, get_hall, now, operation
from hall_queue.entrypoints.api.registry import OPERATIONS

QUERY = {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
         "group": {"type": "string", "enum": list(stats.GROUPS)},
         "by": {"type": "string", "enum": list(stats.DIMENSIONS)}}


def parse_query(hall: Hall, args) -> stats.StatsQuery:
    """Read ``from``/``to`` (YYYY-MM-DD, the hall's service days; default the last 7 days), ``group`` and ``by``."""
    def day(name: str, default: date) -> date:
        raw = args.get(name)
        if not raw:
            return default
        try:
            return date.fromisoformat(raw[:10]) if len(raw) == 10 else date.fromisoformat(raw)
        except ValueError as e:
            raise InvalidRequest(f"{name} must be a date YYYY-MM-DD", code="validation_error") from e

    to = day("to", service_day(hall, now()))  # the statistics count service days (00:30 is the day before)
    frm = day("from", to - timedelta(days=6))
    q = stats.StatsQuery(frm, to, args.get("group", "day"), args.get("by", "hall"))
    try:
        q.check()
    except stats.StatsError as e:
        raise InvalidRequest(str(e), code="validation_error") from e
    return q


def over_period(hall_id: int, compute) -> dict:
    """Answer ``compute(session, hall, first, last, now=…)`` over the request's ``from``/``to`` (see ``parse_query``)."""
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        q = parse_query(hall, request.args)
        return compute(s, hall, q.date_from, q.date_to, now=now())


def _compute(hall_id: int) -> dict:
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        q = parse_query(hall, request.args)
        result = stats.compute(s, hall, q, now=now())
        # 回访 (002 §11.2.3) of the cases completed in the range, per month and per department.
        result["callbacks"] = callbacks.breakdown(s, hall, first=q.date_from, last=q.date_to,
                                                  today=service_day(hall, now()))
        return result


@operation("/halls/<int:hall_id>/statistics", "GET", roles=MANAGERS,
           summary="Read the hall's statistics (000 §12.3.4, 002 §11.3.4)", tags=("statistics",))
def stats_read(hall_id: int):
    return _compute(hall_id)


OPERATIONS[-1].query.update(QUERY)


@operation("/halls/<int:hall_id>/statistics.csv", "GET", roles=MANAGERS,
           summary="Export the hall's statistics as CSV", tags=("statistics",))
def stats_csv(hall_id: int):
    result = _compute(hall_id)
    name = f"statistics-{result['from']}-{result['to']}-{result['group']}-{result['by']}.csv"
    # The call-back results follow the statistics as a second table, after an empty line, with their own header.
    rows = stats.to_csv_rows(result) + [[]] + callbacks.to_csv_rows(result["callbacks"])
    return Response(csv_text(rows).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


OPERATIONS[-1].query.update(QUERY)
