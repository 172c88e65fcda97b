"""Declare API operations once: the route, who may call it, its Pydantic body and answer.

The same declarations generate the OpenAPI 3 document at ``/api/v1/openapi.json``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel

from hall_queue.entrypoints.api.errors import error_response


@dataclass
class Operation:
    path: str
    method: str
    endpoint: str
    summary: str
    roles: tuple[str, ...]
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int = 200
    tags: tuple[str, ...] = ()
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Error statuses beyond the common ones (e.g. 401 and 429 of the public login), for the OpenAPI answers.
    errors: tuple[int, ...] = ()


OPERATIONS: list[Operation] = []


def _openapi_path(flask_path: str) -> tuple[str, list[dict[str, Any]]]:
    params = []

    def repl(m: re.Match) -> str:
        conv, name = (m.group(1) or "string"), m.group(2)
        schema = {"type": "integer", "minimum": 1} if conv == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    path = re.sub(r"<(?:(\w+):)?(\w+)>", repl, flask_path)
    return path, params


def build_openapi(title: str, version: str) -> dict[str, Any]:
    """Assemble the OpenAPI 3.1 document from the declared operations."""
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    }

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        path, params = _openapi_path("/api/v1" + op.path)
        for name, schema in op.query.items():
            params.append({"name": name, "in": "query", "required": False, "schema": schema})
        for name, schema in op.headers.items():
            params.append({"name": name, "in": "header", "required": False, "schema": schema})
        err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        if op.method == "GET" and op.path.endswith(".csv"):  # spreadsheet exports answer CSV, not JSON
            ok = {"description": "OK", "content": {"text/csv": {"schema": {"type": "string"}}}}
        else:
            ok = {"description": "OK", "content": {"application/json": {
                "schema": ref(op.response) if op.response else {"type": "object"}}}}
        responses: dict[str, Any] = {str(op.status): ok}
        if "Idempotency-Key" in op.headers and op.status != 200:
            # A retry with the same key replays the first answer with 200 instead of creating again.
            responses["200"] = {**responses[str(op.status)], "description": "replay of an earlier request"}
        for code in ("400", "404", "409", "413", "422", "503"):
            responses[code] = err
        if "public" not in op.roles:
            responses["401"] = err
            responses["403"] = err
        for code in op.errors:
            responses[str(code)] = err
        entry: dict[str, Any] = {"operationId": op.endpoint, "summary": op.summary, "tags": list(op.tags),
                                 "parameters": params, "responses": responses,
                                 "x-roles": list(op.roles)}
        if "public" not in op.roles:
            # Devices and scripts send a bearer token; staff pages send their session cookie (+ X-CSRF-Token
            # on writes).
            entry["security"] = [{"bearer": []}, {"session": [], "csrf": []}]
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
        paths.setdefault(path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "OneVisit queue server. Errors are {\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}}},
    }


def not_json() -> Any:
    return error_response(400, "malformed_json", "request body must be a JSON object")


Handler = Callable[..., Any]
