"""The OpenAPI 3.1 document, generated from the route table and its pydantic models (never by hand)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dialer.web.api import JSON, SSE, Route, RouteTable
from dialer.web.schemas import ErrorBody

REF = "#/components/schemas/{model}"

try:
    VERSION = version("dialer505")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0"
ERRORS = {
    "400": "malformed request",
    "401": "not logged in / no valid token",
    "403": "wrong role or missing CSRF token",
    "404": "no such object",
    "409": "conflicts with the current state",
    "415": "wrong content type",
    "422": "invalid input; `field` names it",
}


def _parameters(model: type[BaseModel] | None, where: str, defs: dict[str, Any]) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        p: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required}
        p["schema"] = prop
        if description:
            p["description"] = description
        params.append(p)
    return params


def build(table: RouteTable) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorBody}
    for r in table.routes:
        models.update(m for m in (r.body_model, r.response_model) if m is not None)
    keys, top = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for r in table.routes:
        paths.setdefault(r.full_path, {})[r.method.lower()] = _operation(r, keys, defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dialer 505 API",
            "version": VERSION,
            "description": "Campaigns, contacts and applications, agents, do-not-call list, call attempts, "
            "dispositions and reports. Browsers log in with a password (session cookie + X-CSRF-Token "
            "header on changes); scripts send `Authorization: Bearer <token>` (`dialer token create USER`).",
        },
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "dialer_session"},
            },
        },
    }


def _operation(r: Route, keys: dict[Any, Any], defs: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": r.operation_id, "summary": r.summary, "tags": [r.tag]}
    doc = (r.handler.__doc__ or "").strip()
    if doc:
        op["description"] = doc
    params = _parameters(r.path_model, "path", defs) + _parameters(r.query_model, "query", defs)
    if params:
        op["parameters"] = params
    if r.body_model is not None:
        op["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": keys[(r.body_model, "validation")]}},
        }
    if r.upload:
        op["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    ok: dict[str, Any] = {"description": "OK"}
    if r.response_model is not None:
        ok["content"] = {JSON: {"schema": keys[(r.response_model, "validation")]}}
    elif r.media == SSE:
        ok["content"] = {SSE: {"schema": {"type": "string"}}}
    elif r.media != JSON:
        ok["content"] = {r.media: {"schema": {"type": "string"}}}
    err = {JSON: {"schema": {"$ref": REF.format(model="ErrorBody")}}}
    responses: dict[str, Any] = {str(r.status): ok}
    for code, text in ERRORS.items():
        responses[code] = {"description": text, "content": err}
    op["responses"] = responses
    if r.roles:
        op["security"] = [{"bearer": []}, {"session": []}]
        op["x-roles"] = [str(x) for x in r.roles]
    return op
