"""Issue 13, finding 2: a real set-up path. ``onevisit setup`` creates a hall and its first admin (no
demo accounts), devices are registered with a token shown once, listed, revoked and rotated from
the command line and the API; ``onevisit demo`` refuses in production."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hall_queue.catalog import admin as C
from hall_queue import create_app
from hall_queue.access.auth import check_password
from hall_queue.entrypoints.cli import main
from hall_queue.infrastructure.db import Database
from hall_queue.domain.models import AccessToken, Hall, Queue, ServiceItem, Staff, Window


@pytest.fixture
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEVISIT_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'setup.db'}")
    monkeypatch.delenv("ONEVISIT_ENV", raising=False)
    monkeypatch.delenv("ONEVISIT_ADMIN_PASSWORD", raising=False)
    return tmp_path


def _db(instance) -> Database:
    return Database(f"sqlite:///{instance / 'setup.db'}")


def test_demo_refuses_in_production(instance, monkeypatch, capsys):
    monkeypatch.setenv("ONEVISIT_ENV", "production")
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "production" in err and "onevisit setup" in err
    assert not (instance / "demo-tokens.json").exists()
    if (instance / "setup.db").exists():  # nothing was loaded: no published account can log in
        db = _db(instance)
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Staff)) == 0
        db.dispose()


def _demo_items_csv(db, hall_id) -> str:
    with db.read() as s:
        return C.export_items_csv(s, s.get(Hall, hall_id))


def test_setup_creates_a_hall_from_the_configuration_csv_and_only_its_admin(instance, db, hall_id, capsys):
    catalogue = instance / "items.csv"
    catalogue.write_text(_demo_items_csv(db, hall_id), encoding="utf-8")
    rc = main(["setup", "--code", "city-hall", "--name", "某市政务服务中心", "--catalog", str(catalogue),
               "--windows", "4", "--admin", "chief", "--password", "a-long-password-1"])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 31 and summary["windows"] == 4 and summary["admin"] == "chief"
    new = _db(instance)
    with new.read() as s:
        hall = s.scalar(select(Hall).where(Hall.code == "city-hall"))
        assert hall.name == "某市政务服务中心"
        assert s.scalar(select(func.count()).select_from(ServiceItem).where(ServiceItem.hall_id == hall.id)) == 31
        prefixes = set(s.scalars(select(Queue.prefix).where(Queue.hall_id == hall.id)))
        assert prefixes == set(summary["queues"]) and len(prefixes) >= 2
        windows = s.scalars(select(Window).where(Window.hall_id == hall.id)).all()
        assert len(windows) == 4 and all({w.queue.prefix for w in w.served} == prefixes for w in windows)
        # Only the admin it was given: none of the demo's published accounts.
        assert list(s.scalars(select(Staff.username))) == ["chief"]
        assert check_password(s, "chief", "a-long-password-1")
        assert s.scalar(select(func.count()).select_from(AccessToken)) == 0
    new.dispose()


def test_setup_from_json_and_all_or_nothing(instance, capsys):
    good = {"queues": [{"prefix": "A", "name": "综合业务"}, {"prefix": "B", "name": "不动产"}],
            "windows": [{"number": 1, "name": "1号窗口", "queues": ["A", "B"]}, {"number": 2, "name": "2号窗口",
                                                                               "queues": ["B"]}],
            "items": [{"code": "X01", "name": "营业执照办理", "category_code": "C1", "category_name": "商事登记",
                       "queues": "A", "materials": "身份证:original:1:yes:no", "typical_minutes": "10"}]}
    bad = {**good, "windows": [{"number": 1, "name": "1号窗口", "queues": ["Z"]}]}
    (instance / "bad.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    assert main(["setup", "--code", "hall-a", "--name", "甲大厅", "--catalog", str(instance / "bad.json"),
                 "--admin", "chief", "--password", "a-long-password-1"]) == 2
    assert "nothing was created" in capsys.readouterr().err
    db = _db(instance)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Hall)) == 0
        assert s.scalar(select(func.count()).select_from(Staff)) == 0
    (instance / "good.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    assert main(["setup", "--code", "hall-a", "--name", "甲大厅", "--catalog", str(instance / "good.json"),
                 "--admin", "chief", "--password", "a-long-password-1"]) == 0
    with db.read() as s:
        hall = s.scalar(select(Hall).where(Hall.code == "hall-a"))
        assert [i.name for i in s.scalars(select(ServiceItem).where(ServiceItem.hall_id == hall.id))] == ["营业执照办理"]
        assert {w.number: [x.queue.prefix for x in w.served]
                for w in s.scalars(select(Window).where(Window.hall_id == hall.id))} == {1: ["A", "B"], 2: ["B"]}
    db.dispose()
    # An empty hall: one default queue, no items; a second hall with the same code is refused.
    assert main(["setup", "--code", "hall-b", "--name", "乙大厅", "--admin", "chief2", "--password",
                 "a-long-password-2"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["queues"] == ["A"]
    assert main(["setup", "--code", "hall-b", "--name", "乙大厅", "--admin", "chief3", "--password",
                 "a-long-password-3"]) == 2


def _hall_app(instance):
    return create_app({"DATABASE_URL": f"sqlite:///{instance / 'setup.db'}", "TESTING": True})


def test_cli_devices_token_once_list_rotate_revoke(instance, capsys):
    assert main(["setup", "--code", "city-hall", "--name", "某市政务服务中心", "--windows", "2", "--admin", "chief",
                 "--password", "a-long-password-1"]) == 0
    capsys.readouterr()
    assert main(["device", "add", "--hall", "city-hall", "--role", "kiosk", "--name", "1号取号机", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    token, device_id = added["token"], added["device"]["id"]
    assert token.startswith("ovki_") and added["device"]["role"] == "kiosk"
    assert main(["device", "add", "--hall", "city-hall", "--role", "window_screen", "--name", "2号窗口屏",
                 "--window", "2"]) == 0
    out = capsys.readouterr().out
    assert "ovsc_" in out and "/display/window/" in out and "?token=<the token>" in out
    assert main(["device", "add", "--hall", "city-hall", "--role", "pad", "--name", "评价器", "--window", "9"]) == 2
    assert "no window 9" in capsys.readouterr().err

    app = _hall_app(instance)
    client = app.test_client()
    halls = client.get("/api/v1/halls", headers={"Authorization": f"Bearer {token}"})
    assert halls.status_code == 200 and halls.get_json()["items"][0]["name"] == "某市政务服务中心"

    for args in (["device", "list", "--hall", "city-hall"], ["device", "list", "--hall", "city-hall", "--json"]):
        assert main(args) == 0
        listing = capsys.readouterr().out
        assert "1号取号机" in listing and "2号窗口屏" in listing
        assert "ovki_" not in listing and "ovsc_" not in listing and token not in listing

    assert main(["device", "rotate", str(device_id), "--json"]) == 0
    new_token = json.loads(capsys.readouterr().out)["token"]
    assert new_token != token and new_token.startswith("ovki_")
    assert client.get("/api/v1/halls", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/halls", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200

    assert main(["device", "revoke", str(device_id)]) == 0
    assert "revoked" in capsys.readouterr().out
    assert client.get("/api/v1/halls", headers={"Authorization": f"Bearer {new_token}"}).status_code == 401
    assert main(["device", "rotate", str(device_id)]) == 2  # a revoked device is registered again, not revived
    assert main(["device", "revoke", "999"]) == 2


# ---------------------------------------------------------------- the API (managers and admins)

def _register(api, role="kiosk", name="3号取号机", window=None, user="manager", hall=None):
    body = {"role": role, "name": name, **({"window_id": window} if window else {})}
    return api.post(f"/api/v1/halls/{hall or api.hall_id}/devices", body, token=api.token(user))


def test_api_register_shows_the_token_once_and_revocation_is_immediate(api):
    r = _register(api)
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    token, device = r.get_json()["token"], r.get_json()["device"]
    assert device["role"] == "kiosk" and device["active"] is True and device["name"] == "3号取号机"
    kiosk = {"Authorization": f"Bearer {token}"}
    item = api.items["SS001"]
    assert api.client.post(f"/api/v1/halls/{api.hall_id}/tickets", json={"item_ids": [item]},
                           headers=kiosk).status_code == 201
    listing = api.get(f"/api/v1/halls/{api.hall_id}/devices", token=api.token("manager"))
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert token not in text and "ovki_" not in text and "token" not in text
    assert device["id"] in [d["id"] for d in listing.get_json()["items"]]

    r = api.post(f"/api/v1/devices/{device['id']}/rotate", token=api.token("manager"))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    rotated = r.get_json()["token"]
    assert r.get_json()["device"]["id"] == device["id"]
    assert api.client.get("/api/v1/halls", headers=kiosk).status_code == 401  # the old token, at once
    assert api.client.get("/api/v1/halls", headers={"Authorization": f"Bearer {rotated}"}).status_code == 200

    r = api.post(f"/api/v1/devices/{device['id']}/revoke", token=api.token("manager"))
    assert r.status_code == 200 and r.get_json()["active"] is False
    refused = api.client.post(f"/api/v1/halls/{api.hall_id}/tickets", json={"item_ids": [item]},
                              headers={"Authorization": f"Bearer {rotated}"})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "bad_token"
    r = api.post(f"/api/v1/devices/{device['id']}/rotate", token=api.token("manager"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "device_revoked"


def test_api_window_devices_are_bound_to_their_window(api):
    r = _register(api, role="window_screen", name="1号窗口屏", window=api.windows[1])
    assert r.status_code == 201, r.get_json()
    screen = r.get_json()["token"]
    assert r.get_json()["device"]["window_number"] == 1 and screen.startswith("ovsc_")
    assert api.client.get(f"/display/window/{api.windows[1]}?token={screen}").status_code == 200
    assert api.client.get(f"/display/window/{api.windows[2]}?token={screen}").status_code == 403
    pad = _register(api, role="pad", name="2号评价器", window=api.windows[2]).get_json()["token"]
    assert pad.startswith("ovpd_")
    assert api.client.get(f"/api/v1/windows/{api.windows[2]}/rating-prompt",
                          headers={"Authorization": f"Bearer {pad}"}).status_code == 200
    assert api.client.get(f"/api/v1/windows/{api.windows[1]}/rating-prompt",
                          headers={"Authorization": f"Bearer {pad}"}).status_code == 403


@pytest.mark.parametrize("body, status", [
    ({"role": "printer", "name": "x"}, 422), ({"role": "kiosk", "name": ""}, 422),
    ({"role": "kiosk", "name": "x" * 101}, 422), ({"role": "pad", "name": "评价器"}, 404),
    ({"role": "window_screen", "name": "屏", "window_id": 99999}, 404), ({"role": "kiosk", "name": "x", "token": "t"}, 422),
    ({"role": "kiosk", "name": "x", "window_id": 1}, 422),
])
def test_api_register_refuses_bad_bodies(api, body, status):
    r = api.post(f"/api/v1/halls/{api.hall_id}/devices", body, token=api.token("manager"))
    assert r.status_code == status, r.get_json()
    assert set(r.get_json()["error"]) >= {"code", "message"}


def test_api_devices_only_for_managers_of_the_hall(api, db, clock):
    from hall_queue.entrypoints.demo.loader import load_simple_hall

    other = db.run_write(lambda s: load_simple_hall(s, code="other-hall", now=clock.now(), windows=1).id)
    assert _register(api, user="clerk01").status_code == 403
    assert api.client.get(f"/api/v1/halls/{api.hall_id}/devices").status_code == 401
    kiosk = api.get(f"/api/v1/halls/{api.hall_id}/devices", token=api.tokens["kiosk"])
    assert kiosk.status_code == 403
    assert _register(api, hall=other).status_code == 404  # a manager of another hall
    assert _register(api, user="admin", hall=other).status_code == 201
    other_device = api.get(f"/api/v1/halls/{other}/devices", token=api.token("admin")).get_json()["items"][0]["id"]
    assert api.post(f"/api/v1/devices/{other_device}/revoke", token=api.token("manager")).status_code == 404
    staff_token_id = None
    with db.read() as s:
        staff_token_id = s.scalar(select(AccessToken.id).where(AccessToken.kind == "staff"))
    assert api.post(f"/api/v1/devices/{staff_token_id}/revoke", token=api.token("admin")).status_code == 404


def test_openapi_documents_the_device_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/halls/{hall_id}/devices"])
    assert "post" in paths["/api/v1/devices/{device_id}/revoke"] and "post" in paths["/api/v1/devices/{device_id}/rotate"]
    created = paths["/api/v1/halls/{hall_id}/devices"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("DeviceTokenOut")
