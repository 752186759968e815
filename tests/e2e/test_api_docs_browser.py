"""In Chromium with the internet cut off: /docs (Swagger UI) still renders the API's
operations, because its script and styles are served from /static, not a CDN."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


async def test_swagger_ui_renders_with_the_network_blocked(live_server, new_context):
    context = await new_context()
    outside: list[str] = []

    async def only_local(route):
        host = urlsplit(route.request.url).hostname
        if host in LOCAL_HOSTS:
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/docs")
    tags = page.locator(".swagger-ui .opblock-tag")
    await expect(tags.first).to_be_visible()
    assert await tags.count() > 20  # collapsed: one line per tag
    await page.locator('.swagger-ui .opblock-tag[data-tag="conversations"]').click()
    operations = page.locator(".swagger-ui .opblock")
    await expect(operations.first).to_be_visible()
    await expect(
        page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/conversations").first
    ).to_be_visible()
    assert outside == [], outside
