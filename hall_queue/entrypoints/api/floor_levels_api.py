"""Service levels, their statistics, and the clerk's emergency alarm (issue 17). Thin adapters (STYLE rule 6)."""
from __future__ import annotations

from flask import g, request

from hall_queue.bootstrap import runtime
from hall_queue.domain.models import Alert, Window
from hall_queue.entrypoints.api.base import MANAGERS, STAFF, get_hall, get_row, now, operation, write
from hall_queue.entrypoints.api.registry import OPERATIONS
from hall_queue.entrypoints.api.stats_api import parse_query
from hall_queue.floor import emergencies, service_level_stats, service_levels

TAGS = ("service levels",)


@operation("/halls/<int:hall_id>/service-levels", "GET", roles=MANAGERS,
           summary="Every queue and window against the hall's service levels, green / amber / red", tags=TAGS)
def service_levels_now(hall_id: int):
    with runtime().db.read() as s:
        return service_levels.evaluate(s, get_hall(s, hall_id), now=now())


@operation("/halls/<int:hall_id>/service-levels/statistics", "GET", roles=MANAGERS,
           summary="Share called within the wait target, services over the time target, idle-while-waiting minutes",
           tags=TAGS)
def service_levels_statistics(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        q = parse_query(hall, request.args)
        return service_level_stats.compute(s, hall, q.date_from, q.date_to, now=now())


OPERATIONS[-1].query.update({"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}})


@operation("/windows/<int:window_id>/emergency", "POST", roles=STAFF,
           summary="Raise the window's emergency alarm (the clerk signed in there, or a manager)", status=201, tags=TAGS)
def raise_emergency_alarm(window_id: int):
    def do(s):
        alert, events = emergencies.raise_emergency(s, get_row(s, Window, window_id, "window"), now=now(),
                                                    actor=g.actor)
        return emergencies.alarm_view(alert), events
    return write(do), 201


@operation("/alerts/<int:alert_id>/acknowledge", "POST", roles=MANAGERS,
           summary="Acknowledge an emergency alarm (managers)", tags=TAGS)
def acknowledge_alarm(alert_id: int):
    def do(s):
        alert = get_row(s, Alert, alert_id, "alert")
        events = emergencies.acknowledge(s, alert, now=now(), actor=g.actor)
        return emergencies.alarm_view(alert), events
    return write(do)
