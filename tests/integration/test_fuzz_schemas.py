"""hypothesis over every Pydantic request schema of the API: validation is total.

Every body schema the operations declare (enumerated from the registry, so a new one is fuzzed too)
gets arbitrary JSON and schema-shaped objects with wrong types, huge numbers, long and odd Unicode
(lone surrogates, NUL, RTL marks, emoji): ``model_validate`` returns a model that serialises, or raises
``ValidationError`` that the API's handler describes; nothing else. The same values then go to the
real endpoints as JSON text: never a 5xx, every error in the ``{"error": {"code", "message"}}`` shape.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hall_queue.entrypoints.api.errors import describe_validation
from hall_queue.entrypoints.api.registry import OPERATIONS
from tests.integration.test_admin_desk import pad_token

ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None, categories=("Cs", "Cc", "Cf", "Zs", "So")), max_size=20),
    st.sampled_from(["", " ", "\x00", "\ud800", "\u202e张三", "😀" * 60, "A" * 5000, "1e309", "NaN", "2026-02-30",
                     "2026-03-03T25:00", "110101199003071234", "13800138000", "<script>alert(1)</script>"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), ODD_TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(ODD_TEXT, c, max_size=4),
                           max_leaves=12)


def _request_models() -> dict[str, type[BaseModel]]:
    import hall_queue.entrypoints.api  # noqa: F401 - registers every operation

    return {op.body.__name__: op.body for op in OPERATIONS if op.body is not None}


def shaped(model: type[BaseModel]) -> st.SearchStrategy:
    """Objects with the model's own keys (some missing, maybe one unknown) and values of any type."""
    names = sorted(model.model_fields)
    return st.builds(lambda present, values, extra: {**{n: v for n, v in zip(present, values, strict=False)},
                                                      **extra},
                     st.lists(st.sampled_from(names), unique=True, max_size=len(names)) if names else st.just([]),
                     st.lists(JSON_VALUES, min_size=len(names), max_size=len(names)),
                     st.dictionaries(ODD_TEXT, SCALARS, max_size=1))


MODELS = _request_models()


def test_every_operation_body_is_fuzzed():
    assert len(MODELS) >= 30  # all of them; the list comes from the registry itself
    assert {op.body for op in OPERATIONS if op.body is not None} == set(MODELS.values())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_validation_is_total(name):
    model = MODELS[name]

    @settings(max_examples=40, deadline=None, database=None, derandomize=True)
    @given(value=st.one_of(JSON_VALUES, shaped(model)))
    def check(value):
        try:
            parsed = model.model_validate(value)
        except ValidationError as e:
            assert isinstance(describe_validation(e), str) and describe_validation(e)
            return
        # Accepted values serialise and read back the same (what the services and the audit log store).
        again = model.model_validate_json(parsed.model_dump_json())
        assert again == parsed

    check()


BODY_OPS = [op for op in OPERATIONS if op.body is not None]


def _caller(op, api) -> dict[str, str]:
    if "public" in op.roles:
        return {}
    for role in ("kiosk", "manager", "admin"):
        if role in op.roles:
            token = api.tokens["kiosk"] if role == "kiosk" else api.token(role)
            return {"Authorization": f"Bearer {token}"}
    if "pad" not in api.tokens:  # the rating pad of window 1 (its only body operation is the rating)
        api.tokens["pad"] = pad_token(api, 1)
    return {"Authorization": f"Bearer {api.tokens['pad']}"}


@settings(max_examples=600, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_endpoints_answer_4xx_json_to_any_body(api, data):
    op = data.draw(st.sampled_from(BODY_OPS))
    value = data.draw(st.one_of(JSON_VALUES, shaped(op.body)))
    path = "/api/v1" + op.path
    for name, ident in (("hall_id", api.hall_id), ("window_id", api.windows[1])):
        path = path.replace(f"<int:{name}>", str(ident))
    path = path.replace("<int:", "").replace(">", "").replace("ticket_id", "1")
    for name in ("case_id", "complaint_id", "category_id", "item_id", "bundle_id", "queue_id", "staff_id"):
        path = path.replace(name, "1")
    # ensure_ascii: a lone surrogate travels as "\ud800", exactly as a hostile client would send it.
    r = api.client.open(path, method=op.method, data=json.dumps(value, ensure_ascii=True),
                        headers={"Content-Type": "application/json", **_caller(op, api)})
    assert r.status_code < 500, (op.method, path, value, r.get_data()[:300])
    if r.status_code >= 400:
        assert set(r.get_json()["error"]) == {"code", "message"}, r.get_json()
