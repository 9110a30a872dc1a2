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
    "413": "the body is too large",
    "415": "wrong content type",
    "422": "invalid input; `field` names it",
}
LOGIN_ERRORS = {"429": "too many failed logins: wait the `Retry-After` seconds"}


def _parameters(model: type[BaseModel] | None, where: str, defs: dict[str, Any]) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        # a parameter is either given or absent, never null: "?x=" would be the empty string, not null
        options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
        if "anyOf" in prop and len(options) == 1:
            prop.pop("anyOf")
            prop = {**options[0], **prop}
            if prop.get("default", 0) is None:
                prop.pop("default")
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
        models.update(m for _, m in r.events if m is not None)
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
        ok["content"] = {SSE: {"schema": _event_schema(r, keys)}}
    elif r.media != JSON:
        ok["content"] = {r.media: {"schema": {"type": "string"}}}
    err = {JSON: {"schema": {"$ref": REF.format(model="ErrorBody")}}}
    responses: dict[str, Any] = {str(r.status): ok}
    for code, text in ERRORS.items():
        responses[code] = {"description": text, "content": err}
    if not r.roles and r.body_model is not None:  # the login
        for code, text in LOGIN_ERRORS.items():
            responses[code] = {
                "description": text,
                "content": err,
                "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
            }
    op["responses"] = responses
    if r.roles:
        op["security"] = [{"bearer": []}, {"session": []}]
        op["x-roles"] = [str(x) for x in r.roles]
    return op


def _event_schema(r: Route, keys: dict[Any, Any]) -> dict[str, Any]:
    """One server-sent event (OpenAPI 3.1: the media type's schema describes each event): its name and
    its data, JSON text of the named model. Comments (heartbeats) and ``retry:`` lines carry no event."""
    variants = []
    for name, model in r.events:
        data: dict[str, Any] = {"type": "string", "contentMediaType": JSON}
        if model is not None:
            data["contentSchema"] = keys[(model, "validation")]
        variants.append(
            {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"const": name},
                    "data": data,
                    "id": {"type": "string"},
                    "retry": {"type": "integer"},
                },
            }
        )
    if not variants:
        return {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}}
    return variants[0] if len(variants) == 1 else {"oneOf": variants}
