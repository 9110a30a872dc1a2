"""The OpenAPI document matches the mounted routes, and a property-based fuzz of every operation it
describes (schemathesis) never gets a 500."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, given

from dialer.web.api import PREFIX, SSE
from tests.web.conftest import Web

EXAMPLES = int(os.environ.get("DIALER_FUZZ_EXAMPLES", "25"))


async def test_openapi_document_describes_every_api_route(web: Web) -> None:
    r = await web.client.get("/api/v1/openapi.json")
    assert r.status == 200
    doc = await r.json()
    assert doc["openapi"] == "3.1.0"
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    mounted = {
        (route.method, route.resource.canonical)
        for route in web.service.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(PREFIX)
        and route.method != "HEAD"
    }
    assert documented == mounted
    for (method, path), op in ((k, doc["paths"][k[1]][k[0].lower()]) for k in documented):
        assert op["summary"] and op["operationId"], (method, path)
        assert "422" in op["responses"] and any(c in op["responses"] for c in ("200", "201", "202"))
    # request and response models are components, referenced by name
    schemas = doc["components"]["schemas"]
    for name in ("CampaignSpec", "DispositionIn", "ErrorBody", "ImportJobOut", "Dashboard", "SummaryReport"):
        assert name in schemas, name
    create = doc["paths"]["/api/v1/campaigns"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CampaignSpec"
    }
    assert create["x-roles"] == ["admin"]
    upload = doc["paths"]["/api/v1/applications/import"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    schemathesis.openapi.from_dict(doc)  # loads as a valid document


def _checker(op: Any, base_url: str, token: str, failures: list[str]) -> Any:
    session = requests.Session()

    @given(case=op.as_strategy())
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def check(case: Any) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        if response.status_code >= 500:
            failures.append(
                f"{op.label}: {response.status_code} {response.text[:200]} for {case.as_curl_command()}"
            )
        elif response.status_code >= 400:
            body = response.json()
            assert body["error"], (op.label, body)

    return check


def _fuzz(doc: dict[str, Any], base_url: str, admin: str, agent: str) -> list[str]:
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        definition = doc["paths"][op.path][op.method.lower()]
        ok = definition["responses"].get("200", {}).get("content", {})
        if SSE in ok:
            continue  # endless streams; covered by their own tests
        token = agent if definition.get("x-roles", []) == ["agent"] else admin
        _checker(op, base_url, token, failures)()
    return failures


async def test_fuzzing_every_operation_never_gets_a_500(web: Web) -> None:
    await web.admin("POST", "/campaigns", json={"name": "c1"})
    doc = await (await web.client.get("/api/v1/openapi.json")).json()
    failures = await asyncio.to_thread(_fuzz, doc, web.url, web.admin_token, web.agent_token)
    assert not failures, "\n".join(failures[:20])
