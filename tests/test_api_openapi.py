"""/docs is useful: every REST path is in the OpenAPI schema with a tag, a summary and a response model."""

from __future__ import annotations

import re

import httpx

EXPECTED = {
    "/api/v1/contacts": {"get", "post"},
    "/api/v1/contacts/{contact_id}": {"get", "patch"},
    "/api/v1/contacts/{contact_id}/conversations": {"get"},
    "/api/v1/conversations": {"get"},
    "/api/v1/conversations/{conversation_id}": {"get", "patch"},
    "/api/v1/conversations/{conversation_id}/events": {"get"},
    "/api/v1/conversations/{conversation_id}/messages": {"get", "post"},
    "/api/v1/inboxes": {"get", "post"},
    "/api/v1/inboxes/{inbox_id}": {"get", "patch"},
    "/api/v1/agents": {"get"},
    "/api/v1/agents/me": {"get"},
    "/api/v1/agents/{agent_id}": {"get"},
    "/api/v1/teams": {"get", "post"},
    "/api/v1/teams/{team_id}": {"get"},
}


def test_openapi_lists_the_rest_api(live_server):
    spec = httpx.get(live_server.url + "/openapi.json").json()
    for path, methods in EXPECTED.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), path
        for method in methods:
            operation = spec["paths"][path][method]
            assert operation["tags"] and operation["summary"], (method, path)
            assert operation["security"] == [{"ApiToken": []}], (method, path)
            success = operation["responses"].get("200") or operation["responses"].get("201")
            assert "$ref" in str(success["content"]["application/json"]["schema"]), (method, path)
    assert spec["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    page = spec["components"]["schemas"]["Page_ContactOut_"]
    assert set(page["properties"]) == {"data", "next_cursor"}
    docs = httpx.get(live_server.url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_docs_page_uses_vendored_assets_not_a_cdn(live_server):
    page = httpx.get(f"{live_server.url}/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text and "fastapi.tiangolo.com" not in page.text
    assets = re.findall(r'(?:href|src)="(/static/vendor/swagger-ui/[^"]+)"', page.text)
    assert len(assets) == 3, assets  # the script, the styles, the favicon
    for asset in assets:
        assert httpx.get(f"{live_server.url}{asset}").status_code == 200, asset
    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    assert "/docs" not in spec["paths"]
    assert httpx.get(f"{live_server.url}/redoc").status_code == 404
