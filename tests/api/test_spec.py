"""The OpenAPI document matches the code, and Swagger UI is served from local assets."""

from __future__ import annotations

import re

from hypertube.http.api.core import API_PREFIX
from hypertube.http.api.endpoints import OPERATIONS
from hypertube.http.shell import STATIC


async def test_every_api_route_is_in_the_spec_and_every_operation_is_routed(client, api_spec):
    spec = api_spec.spec
    routed = set()
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith(API_PREFIX + "/"):
            continue
        routed.add((route.method.lower(), path))
        assert path in spec["paths"], f"{path} is not in the spec"
        assert route.method.lower() in spec["paths"][path], f"{route.method} {path} is not in the spec"
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert documented == routed


async def test_spec_lists_every_field_the_code_reads(api_spec):
    """Query parameters and body fields come from the same table the handlers read, field by field."""
    spec = api_spec.spec
    for op in OPERATIONS:
        entry = spec["paths"][op.path][op.method.lower()]
        params = {(p["in"], p["name"]) for p in entry.get("parameters", [])}
        assert {("query", p.name) for p in op.query} | {("path", n) for n in op.path_params} == params
        if op.body is not None:
            body = entry["requestBody"]["content"]["application/json"]["schema"]
            assert body == op.body
            assert body["additionalProperties"] is False
        for status in entry["responses"]:
            assert re.fullmatch(r"[1-5]\d\d", status)


async def test_spec_is_openapi_31_and_every_ref_resolves(api_spec):
    spec = api_spec.spec
    assert spec["openapi"] == "3.1.0"
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', __import__("json").dumps(spec))
    assert refs and set(refs) <= set(spec["components"]["schemas"])
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/api/v1/oauth/token"
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    # Every response object without a body is a 204, and every error points at the one envelope.
    for ops in spec["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                if status.startswith("4") and op["operationId"] != "issueToken":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }


async def test_swagger_ui_page_uses_local_assets_and_its_own_csp(client):
    resp = await client.get("/api/docs")
    assert resp.status == 200
    html = await resp.text()
    assert "<script>" not in html and "style=" not in html
    scripts = re.findall(r'src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert any("vendor/swagger-ui/swagger-ui-bundle.js" in s for s in scripts)
    assert any("js/api-docs.js" in s for s in scripts)
    assert any("vendor/swagger-ui/swagger-ui.css" in s for s in styles)
    for url in scripts + styles:
        asset = await client.get(url)
        assert asset.status == 200, url
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert "style-src 'self' 'unsafe-inline'" in csp
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert "SwaggerUIBundle" in (STATIC / "js" / "api-docs.js").read_text()
    # Only this page relaxes the style policy.
    other = await client.get("/api/v1/openapi.json")
    assert "unsafe-inline" not in other.headers["Content-Security-Policy"]
