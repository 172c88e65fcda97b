"""Registered devices of a hall (issue 13, finding 2): kiosks, hall screens, window screens, rating pads.

Managers (their hall) and admins register a device and get its token once; listings never show it.
Thin adapters over ``access/device_registry`` (STYLE rule 6).
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from flask import g, jsonify
from pydantic import StringConstraints
from sqlalchemy.orm import Session

from hall_queue.access import device_registry as D
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import MANAGERS, get_hall, get_row, now, operation, write
from hall_queue.domain.models import AccessToken
from hall_queue.bootstrap import runtime

TAGS = ("devices",)


class DeviceIn(S.In):
    role: Literal["kiosk", "hall_screen", "window_screen", "pad"]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    window_id: Optional[S.Id] = None  # noqa: UP045 - window screens and rating pads only


class DeviceOut(S.Out):
    id: int
    role: str
    name: str
    window_id: Optional[int]  # noqa: UP045
    window_number: Optional[int]  # noqa: UP045
    created_at: str
    revoked_at: Optional[str]  # noqa: UP045
    active: bool


class DeviceListOut(S.Out):
    items: list[DeviceOut]


class DeviceTokenOut(S.Out):
    device: DeviceOut
    token: str  # shown this once: only its hash is stored


def _once(body: dict, status: int = 200):
    """An answer carrying a token: never cached by a browser or proxy."""
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _device(s: Session, device_id: int) -> AccessToken:
    row = get_row(s, AccessToken, device_id, "device")  # another hall's device: 404 for a manager
    return D.get_device(s, row.id)


@operation("/halls/<int:hall_id>/devices", "GET", roles=MANAGERS,
           summary="List the hall's registered devices (never their tokens)", response=DeviceListOut, tags=TAGS)
def list_devices(hall_id: int):
    with runtime().db.read() as s:
        return {"items": D.list_devices(s, get_hall(s, hall_id))}


@operation("/halls/<int:hall_id>/devices", "POST", roles=MANAGERS,
           summary="Register a kiosk, hall screen, window screen or rating pad; its token is shown this once",
           body=DeviceIn, response=DeviceTokenOut, status=201, tags=TAGS)
def register_device(hall_id: int, body: DeviceIn):
    def do(s: Session):
        device, token = D.register_device(s, get_hall(s, hall_id), role=body.role, name=body.name,
                                          window_id=body.window_id, now=now(), actor=g.actor)
        return {"device": device, "token": token}, []
    return _once(write(do), 201)


@operation("/devices/<int:device_id>/revoke", "POST", roles=MANAGERS,
           summary="Revoke a device: its token is refused from now on", response=DeviceOut, tags=TAGS)
def revoke_device(device_id: int):
    def do(s: Session):
        return D.revoke_device(s, _device(s, device_id), now=now(), actor=g.actor), []
    return write(do)


@operation("/devices/<int:device_id>/rotate", "POST", roles=MANAGERS,
           summary="Give a device a new token (shown this once); the old token is refused from now on",
           response=DeviceTokenOut, errors=(409,), tags=TAGS)
def rotate_device(device_id: int):
    def do(s: Session):
        device, token = D.rotate_device(s, _device(s, device_id), now=now(), actor=g.actor)
        return {"device": device, "token": token}, []
    return _once(write(do))
