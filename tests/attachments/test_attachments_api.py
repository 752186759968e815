"""Attachments over HTTP: the widget and the console send files as part of a message (same
client_id idempotency as text), size and type are checked against the workspace's policy with
machine-readable errors, and a file is served only to the conversation's credentials, never
as a page."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
import pytest

from tests.attachments.files import EXE, PDF, png
from tests.test_console_helpers import console_client, csrf_of


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        yield c


async def visitor(client, token: str) -> str:
    r = await client.post(f"/widget/v1/{token}/session", json={"locale": "ko"})
    assert r.status_code == 200, r.text
    return r.json()["visitor_token"]


async def upload(
    client, token: str, vt: str, name: str, data: bytes, content_type="application/octet-stream"
):
    return await client.post(
        f"/widget/v1/{token}/attachments",
        headers={"X-Sodam-Visitor": vt},
        files={"file": (name, data, content_type)},
    )


async def test_a_visitor_sends_an_image_and_both_sides_read_it(client, live_server, make_workspace):
    ws = await make_workspace()
    vt = await visitor(client, ws.inbox_token)
    r = await upload(client, ws.inbox_token, vt, "배송 사진 1.png", png(), "text/html")
    assert r.status_code == 201, r.text
    up = r.json()
    # The type comes from the bytes, not from what the browser claimed.
    assert up["content_type"] == "image/png" and up["kind"] == "image" and up["name"] == "배송 사진 1.png"

    client_id = str(uuid.uuid4())
    body = {"client_id": client_id, "content": "", "attachments": [up["id"]]}
    sent = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages", json=body, headers={"X-Sodam-Visitor": vt}
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["payload"]["attachments"] == [up]
    # A retry after a lost answer: the same message, never a second one.
    again = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages", json=body, headers={"X-Sodam-Visitor": vt}
    )
    assert again.status_code == 200 and again.json()["id"] == message["id"]
    # The same file in a new message is refused: it already belongs to one.
    other = {"client_id": str(uuid.uuid4()), "content": "또", "attachments": [up["id"]]}
    reused = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages", json=other, headers={"X-Sodam-Visitor": vt}
    )
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "attachment_already_sent"

    got = await client.get(
        f"/widget/v1/{ws.inbox_token}/attachments/{up['id']}", headers={"X-Sodam-Visitor": vt}
    )
    assert got.status_code == 200 and got.content == png()
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("inline;")
    assert f"filename*=UTF-8''{quote('배송 사진 1.png', safe='')}" in got.headers["content-disposition"]
    assert "sandbox" in got.headers["content-security-policy"]
    # No credential: 401; another visitor: not found.
    assert (await client.get(f"/widget/v1/{ws.inbox_token}/attachments/{up['id']}")).status_code == 401
    stranger = await visitor(client, ws.inbox_token)
    r = await client.get(
        f"/widget/v1/{ws.inbox_token}/attachments/{up['id']}", headers={"X-Sodam-Visitor": stranger}
    )
    assert r.status_code == 404

    # The agent's side: the console (session cookie) and the API (token).
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        seen = await agent.get(f"/console/attachments/{up['id']}")
        assert seen.status_code == 200 and seen.content == png()
        page = await agent.get(f"/console/conversations/{message['conversation_id']}")
        assert f"/console/attachments/{up['id']}" in page.text
        # And back: the agent sends a PDF in the reply box.
        pdf = await agent.post(
            f"/console/conversations/{message['conversation_id']}/attachments",
            files={"file": ("견적서.pdf", PDF, "application/pdf")},
            headers={"X-CSRF-Token": csrf_of(agent), "Accept": "application/json"},
        )
        assert pdf.status_code == 201, pdf.text
        pdf_id = pdf.json()["id"]
        # Not sent yet: the visitor cannot read it.
        r = await client.get(
            f"/widget/v1/{ws.inbox_token}/attachments/{pdf_id}", headers={"X-Sodam-Visitor": vt}
        )
        assert r.status_code == 404
        reply = await agent.post(
            f"/console/conversations/{message['conversation_id']}/messages",
            data={"content": "견적서 보내드립니다", "attachments": pdf_id, "client_id": str(uuid.uuid4())},
            headers={"X-CSRF-Token": csrf_of(agent), "Accept": "application/json"},
        )
        assert reply.status_code == 201, reply.text
        assert reply.json()["payload"]["attachments"][0]["name"] == "견적서.pdf"
    finally:
        await agent.aclose()
    r = await client.get(f"/widget/v1/{ws.inbox_token}/attachments/{pdf_id}", headers={"X-Sodam-Visitor": vt})
    assert r.status_code == 200 and r.content == PDF
    # Not a raster image: always a download.
    assert r.headers["content-disposition"].startswith("attachment;")
    history = await client.get(f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": vt})
    files = [a["id"] for m in history.json()["messages"] for a in (m["payload"] or {}).get("attachments", [])]
    assert files == [up["id"], pdf_id]


async def test_a_private_note_file_never_reaches_the_visitor(client, make_workspace):
    ws = await make_workspace()
    vt = await visitor(client, ws.inbox_token)
    sent = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"client_id": str(uuid.uuid4()), "content": "문의"},
        headers={"X-Sodam-Visitor": vt},
    )
    conversation_id = sent.json()["conversation_id"]
    api = {"Authorization": f"Bearer {ws.api_token}"}
    up = await client.post(
        f"/api/v1/conversations/{conversation_id}/attachments", headers=api, files={"file": ("memo.pdf", PDF)}
    )
    assert up.status_code == 201, up.text
    note = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=api,
        json={"content": "내부용", "private": True, "attachments": [up.json()["id"]]},
    )
    assert note.status_code == 201, note.text
    r = await client.get(
        f"/widget/v1/{ws.inbox_token}/attachments/{up.json()['id']}", headers={"X-Sodam-Visitor": vt}
    )
    assert r.status_code == 404
    got = await client.get(f"/api/v1/attachments/{up.json()['id']}?download=true", headers=api)
    assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment;")


async def test_too_large_and_dangerous_files_are_refused_clearly(client, make_workspace):
    ws = await make_workspace()
    vt = await visitor(client, ws.inbox_token)
    big = await upload(
        client, ws.inbox_token, vt, "video.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (30 * 1024 * 1024)
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "attachment_too_large"
    assert big.json()["error"]["details"]["max_bytes"] == 20 * 1024 * 1024
    exe = await upload(client, ws.inbox_token, vt, "setup.exe", EXE)
    assert exe.status_code == 415 and exe.json()["error"]["code"] == "attachment_type_blocked"
    # Renaming does not help: the bytes say what it is.
    disguised = await upload(client, ws.inbox_token, vt, "photo.png", EXE)
    assert disguised.status_code == 415 and disguised.json()["error"]["code"] == "attachment_type_blocked"
    page = await upload(
        client, ws.inbox_token, vt, "invoice.txt", b"<!DOCTYPE html><script>alert(1)</script>"
    )
    assert page.json()["error"]["code"] == "attachment_type_blocked"
    unknown = await upload(client, ws.inbox_token, vt, "data.dat", bytes(range(256)) * 4)
    assert unknown.status_code == 415 and unknown.json()["error"]["code"] == "attachment_type_not_allowed"

    # The workspace narrows its policy: documents only, 1 MB.
    api = {"Authorization": f"Bearer {ws.api_token}"}
    r = await client.put(
        "/api/v1/workspace/attachment-policy",
        headers=api,
        json={"max_bytes": 1024 * 1024, "allowed": ["documents"]},
    )
    assert r.status_code == 200 and r.json()["allowed"] == ["documents"]
    config = (await client.get(f"/widget/v1/{ws.inbox_token}/config")).json()
    assert config["attachments"] == {"max_bytes": 1024 * 1024, "allowed": ["documents"]}
    image = await upload(client, ws.inbox_token, vt, "a.png", png())
    assert image.status_code == 415 and image.json()["error"]["details"]["family"] == "images"
    assert (await upload(client, ws.inbox_token, vt, "a.pdf", PDF)).status_code == 201
    two_mb = await upload(client, ws.inbox_token, vt, "b.pdf", PDF + b"\x00" * (2 * 1024 * 1024))
    assert two_mb.status_code == 413 and two_mb.json()["error"]["details"]["max_bytes"] == 1024 * 1024
    bad = await client.put(
        "/api/v1/workspace/attachment-policy", headers=api, json={"max_bytes": 5000, "allowed": ["exe"]}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_family"


async def test_the_policy_is_set_in_the_console_by_those_who_manage_security(live_server, make_workspace):
    from sodam.accounts.models import Role
    from tests.test_console_helpers import add_agent

    ws = await make_workspace()
    admin = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await admin.get("/console/settings/attachments")
        assert page.status_code == 200 and 'value="20"' in page.text
        r = await admin.post(
            "/console/settings/attachments",
            data={"max_mb": "5", "allowed": ["images", "documents"], "csrf_token": csrf_of(admin)},
        )
        assert r.status_code == 200 and 'id="attachment-saved"' in r.text and 'value="5"' in r.text
        assert 'value="media" checked' not in r.text and 'value="images" checked' in r.text
    finally:
        await admin.aclose()
    _id, email, password = await add_agent(ws, role=Role.supervisor)
    supervisor = await console_client(live_server, email, password)
    try:
        r = await supervisor.get("/console/settings/attachments", headers={"Accept": "application/json"})
        assert r.status_code == 403
    finally:
        await supervisor.aclose()


async def test_erasing_a_contact_deletes_their_files_and_pages(client, make_workspace):
    ws = await make_workspace()
    vt = await visitor(client, ws.inbox_token)
    up = (await upload(client, ws.inbox_token, vt, "신분증.png", png())).json()
    unsent = (await upload(client, ws.inbox_token, vt, "다른 사진.png", png(3, 3))).json()
    sent = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"client_id": str(uuid.uuid4()), "attachments": [up["id"]]},
        headers={"X-Sodam-Visitor": vt},
    )
    await client.post(
        f"/widget/v1/{ws.inbox_token}/pages",
        json={"visit_id": "v1", "url": "https://shop.example.com/me", "title": "내 정보"},
        headers={"X-Sodam-Visitor": vt},
    )
    contact_id = sent.json()["sender_id"]
    api = {"Authorization": f"Bearer {ws.api_token}"}
    assert (await client.get(f"/api/v1/attachments/{up['id']}", headers=api)).status_code == 200
    erased = await client.post(f"/api/v1/contacts/{contact_id}/erase", headers=api)
    assert erased.status_code == 200, erased.text
    for file_id in (up["id"], unsent["id"]):
        assert (await client.get(f"/api/v1/attachments/{file_id}", headers=api)).status_code == 404
    from sodam.contacts import visits
    from sodam.db.session import session_scope

    async with session_scope() as session:
        assert await visits.latest_visit(session, workspace_id=ws.workspace_id, contact_id=contact_id) is None
