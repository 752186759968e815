"""An agent's public face: the display name and avatar set on 내 계정 are what the widget shows
beside the agent's replies; the avatar is an image (served to the widget without credentials,
only while in use), anything else is refused with a clear message."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.attachments.files import PDF, png
from tests.test_console_helpers import console_client, csrf_of


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as c:
        yield c


async def test_display_name_and_avatar_reach_the_widget(client, live_server, make_workspace):
    ws = await make_workspace()
    r = await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})
    vt = r.json()["visitor_token"]
    sent = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"content": "문의드립니다", "client_id": str(uuid.uuid4())},
        headers={"X-Sodam-Visitor": vt},
    )
    cid = sent.json()["conversation_id"]
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await agent.get("/console/account")
        assert 'id="profile-initial"' in page.text
        r = await agent.post(
            "/console/account/profile", data={"display_name": "  민지  ", "csrf_token": csrf_of(agent)}
        )
        assert r.status_code == 200 and 'id="profile-shown-name">민지<' in r.text
        bad = await agent.post(
            "/console/account/avatar",
            files={"file": ("me.pdf", PDF, "application/pdf")},
            data={"csrf_token": csrf_of(agent)},
        )
        assert bad.status_code == 415 and "PNG, JPEG, GIF, WebP" in bad.text
        r = await agent.post(
            "/console/account/avatar",
            files={"file": ("me.png", png(8, 8), "image/png")},
            data={"csrf_token": csrf_of(agent)},
        )
        assert r.status_code == 200 and 'id="profile-avatar"' in r.text
        reply = await agent.post(
            f"/console/conversations/{cid}/messages",
            data={"content": "안녕하세요, 민지입니다", "client_id": str(uuid.uuid4())},
            headers={"X-CSRF-Token": csrf_of(agent), "Accept": "application/json"},
        )
        assert reply.status_code == 201
    finally:
        await agent.aclose()
    history = (
        await client.get(f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": vt})
    ).json()
    last = history["messages"][-1]
    assert last["sender_name"] == "민지" and last["sender_avatar"]
    image = await client.get(f"/widget/v1/{ws.inbox_token}/avatars/{last['sender_avatar']}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    # A message attachment is not an avatar: not served on the public path.
    up = await client.post(
        f"/widget/v1/{ws.inbox_token}/attachments",
        headers={"X-Sodam-Visitor": vt},
        files={"file": ("a.png", png())},
    )
    assert (await client.get(f"/widget/v1/{ws.inbox_token}/avatars/{up.json()['id']}")).status_code == 404
