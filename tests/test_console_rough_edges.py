"""Rough edges a new team met in its first hour (issue 9), each reproduced over HTTP."""

from __future__ import annotations

import html
import re

import pytest

from tests.test_console_helpers import console_client, csrf_of


@pytest.fixture
async def admin(live_server, make_workspace):
    ws = await make_workspace()
    client = await console_client(live_server, ws.agent_email, ws.agent_password)
    yield ws, client
    await client.aclose()


def snippet_src(page: str) -> str:
    code = re.search(r'<code id="embed-snippet">(.*?)</code>', page, re.S)
    assert code, "no snippet on the page"
    return re.search(r'src="([^"]+)"', html.unescape(code.group(1))).group(1)


async def test_snippet_uses_the_address_the_server_runs_on(server_factory, make_workspace):
    # Started on another port than SODAM_PORT says (uvicorn --port ..., a container's mapping).
    server = server_factory(extra_env={"SODAM_PORT": "8000"})
    ws = await make_workspace()
    client = await console_client(server, ws.agent_email, ws.agent_password)
    page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
    await client.aclose()
    assert page.status_code == 200
    assert snippet_src(page.text) == f"{server.url}/static/widget.js"


async def test_snippet_uses_the_public_url_when_set(server_factory, make_workspace):
    server = server_factory(extra_env={"SODAM_PUBLIC_URL": "https://chat.example.com/"})
    ws = await make_workspace()
    client = await console_client(server, ws.agent_email, ws.agent_password)
    page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
    config = await client.get(f"/widget/v1/{ws.inbox_token}/config")
    await client.aclose()
    assert snippet_src(page.text) == "https://chat.example.com/static/widget.js"
    assert config.json()["privacy_url"].startswith(f"https://chat.example.com/help/{ws.slug}/privacy")


async def test_install_instruction_shows_the_body_tag(admin):
    ws, client = admin
    for locale, words in (("ko", "바로 앞에"), ("en", "just before")):
        await client.post(
            "/console/preferences/locale",
            data={"locale": locale, "next": "/console", "csrf_token": csrf_of(client)},
        )
        page = await client.get(f"/console/settings/inboxes/{ws.inbox_id}")
        line = re.search(r'<p class="muted">([^<]*' + words + r"[^<]*)</p>", page.text)
        assert line, f"{locale}: instruction not found or cut by a raw tag"
        assert "&lt;/body&gt;" in line.group(1)
