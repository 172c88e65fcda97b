"""Bad input gets a clear 4xx JSON error, never a 500; the OpenAPI document describes every operation."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall_queue.entrypoints.api.registry import OPERATIONS


def _is_error(r, status):
    body = r.get_json()
    assert r.status_code == status, (r.status_code, body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return body["error"]["code"]


def test_malformed_and_wrong_bodies(api):
    url = f"/api/v1/halls/{api.hall_id}/tickets"
    h = {"Authorization": f"Bearer {api.tokens['kiosk']}", "Content-Type": "application/json"}
    assert _is_error(api.client.post(url, data="{not json", headers=h), 400) == "malformed_json"
    assert _is_error(api.client.post(url, data="[1,2]", headers=h), 400) == "malformed_json"
    assert _is_error(api.client.post(url, json={"item_ids": "abc"}, headers=h), 422) == "validation_error"
    assert _is_error(api.client.post(url, json={"item_ids": [1], "name": "张" * 51}, headers=h), 422) == \
        "validation_error"
    assert _is_error(api.client.post(url, json={"item_ids": [1], "surprise": 1}, headers=h), 422) == "validation_error"
    assert _is_error(api.client.post(url, json={"item_ids": [2**40]}, headers=h), 422) == "validation_error"
    assert _is_error(api.client.post(url, json={"item_ids": [99999]}, headers=h), 404) == "not_found"
    assert _is_error(api.client.post(url, json={}, headers=h), 422) == "no_matter"
    r = api.client.post(url, json={"item_ids": [1], "id_number": "x' OR 1=1 --"}, headers=h)
    assert _is_error(r, 422) == "validation_error"


def test_unknown_ids_routes_methods_and_huge_ids(api):
    m = api.token("manager")
    assert _is_error(api.get("/api/v1/tickets/424242", token=m), 404) == "not_found"
    assert _is_error(api.get("/api/v1/tickets/99999999999999999999999", token=m), 404) == "not_found"
    assert _is_error(api.post("/api/v1/windows/9223372036854775808/call-next", token=m), 404) == "not_found"
    assert _is_error(api.get("/api/v1/no/such/thing"), 404) == "not_found"
    assert _is_error(api.client.delete(f"/api/v1/halls/{api.hall_id}/tickets"), 405) == "method_not_allowed"
    assert _is_error(api.get("/api/v1/halls/77/catalog"), 404) == "not_found"


def test_list_filters_with_a_bad_value_are_422_not_everything(api):
    # A typo in a filter used to list every row (complaints, consultations) or none (appeals) with a 200.
    m, base = api.token("manager"), f"/api/v1/halls/{api.hall_id}"
    for path in ("complaints?status=zzz", "consultations?status=open", "appeals?status=maybe"):
        assert _is_error(api.get(f"{base}/{path}", token=m), 422) == "validation_error", path
    for path in ("complaints?status=received", "consultations?status=pending", "appeals?status=pending",
                 "complaints?status="):
        assert api.get(f"{base}/{path}", token=m).status_code == 200, path


def test_oversize_bodies_are_refused_with_413(api):
    big = json.dumps({"item_ids": [1], "name": "x" * (2 * 1024 * 1024)})
    r = api.client.post(f"/api/v1/halls/{api.hall_id}/tickets", data=big, content_type="application/json",
                        headers={"Authorization": f"Bearer {api.tokens['kiosk']}"})
    assert _is_error(r, 413) == "payload_too_large"


def test_auth_errors(api):
    url = f"/api/v1/halls/{api.hall_id}/tickets"
    assert _is_error(api.client.post(url, json={"item_ids": [1]}), 401) == "unauthorized"
    assert _is_error(api.post(url, {"item_ids": [1]}, token="forged"), 401) == "bad_token"
    assert _is_error(api.post(url, {"item_ids": [1]}, token=api.tokens["screen"]), 403) == "forbidden"
    # A screen cannot call a ticket; a kiosk cannot read the audit log.
    assert _is_error(api.post(f"/api/v1/windows/{api.windows[1]}/call-next", token=api.tokens["screen"]), 403) == \
        "forbidden"
    assert _is_error(api.get(f"/api/v1/halls/{api.hall_id}/audit", token=api.tokens["kiosk"]), 403) == "forbidden"
    r = api.client.post("/api/v1/auth/login", json={"username": "clerk01", "password": "wrong"})
    assert _is_error(r, 401) == "bad_credentials"
    tok = api.token("clerk01")
    assert api.post("/api/v1/auth/logout", token=tok).status_code == 200
    assert _is_error(api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=tok), 401) == "bad_token"


def test_staff_of_one_hall_cannot_reach_another(api, db, clock):
    from hall_queue.entrypoints.demo.loader import load_simple_hall

    other = db.run_write(lambda s: load_simple_hall(s, code="north", now=clock.now(), windows=2).id)
    m = api.token("manager")
    assert _is_error(api.get(f"/api/v1/halls/{other}/snapshot", token=m), 404) == "not_found"
    assert _is_error(api.post(f"/api/v1/halls/{other}/tickets", {"item_ids": [1]}, token=api.tokens["kiosk"]), 404)


def test_openapi_document_covers_every_operation(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    ops = {(p, m) for p, entry in doc["paths"].items() for m in entry}
    assert len(ops) == len(OPERATIONS) >= 25
    schemas = doc["components"]["schemas"]
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in schemas, ref
    issue = doc["paths"]["/api/v1/halls/{hall_id}/tickets"]["post"]
    assert issue["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IssueIn"}
    assert "Idempotency-Key" in {p["name"] for p in issue["parameters"]}


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
                           max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values, which=st.sampled_from(["issue", "finish", "pause", "transfer", "config", "login"]))
def test_no_500_on_arbitrary_json(api, body, which):
    m = api.token("manager")
    paths = {"issue": (f"/api/v1/halls/{api.hall_id}/tickets", api.tokens["kiosk"], "POST"),
             "finish": ("/api/v1/tickets/1/finish", m, "POST"),
             "pause": (f"/api/v1/windows/{api.windows[1]}/pause", m, "POST"),
             "transfer": ("/api/v1/tickets/1/transfer", m, "POST"),
             "config": (f"/api/v1/windows/{api.windows[1]}/config", m, "PUT"),
             "login": ("/api/v1/auth/login", None, "POST")}
    path, tok, method = paths[which]
    r = api.client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {tok}"} if tok else {})
    assert r.status_code < 500, r.get_json()
    if r.status_code >= 400:
        assert set(r.get_json()["error"]) == {"code", "message"}
