"""Callbacks by API and from the widget over HTTP, and workspace isolation on every new
endpoint (the API, the widget form, the webhook and the console pages)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from sodam.conversations.models import Conversation, Message, Status
from sodam.db.session import session_scope
from tests.voice.helpers import Provider, phone_inbox
from tests.webhooks.helpers import api


@pytest.fixture
async def setup(live_server, make_workspace, db):
    ws = await make_workspace()
    client = api(live_server, ws.api_token)
    inbox_id, out = await phone_inbox(client)
    yield ws, client, inbox_id, out
    await client.aclose()


async def test_book_by_api_pick_an_offered_slot_and_record_outcomes(setup):
    ws, client, inbox_id, _out = setup
    r = await client.get("/api/v1/callbacks/slots", params={"inbox_id": inbox_id, "days": 2})
    assert r.status_code == 200, r.text
    offered = r.json()["slots"]
    assert offered and r.json()["timezone"] == "Asia/Seoul"
    assert all(s["start"][14:16] in ("00", "30") for s in offered)
    body = {"inbox_id": inbox_id, "phone": "010-3333-4444", "name": "이서준", "note": "배송 문의"}
    bad = await client.post("/api/v1/callbacks", json={**body, "slot_at": "2020-01-01T10:00:00+09:00"})
    assert bad.status_code == 409 and bad.json()["error"]["code"] == "slot_unavailable"
    wrong_phone = await client.post(
        "/api/v1/callbacks", json={**body, "phone": "abc", "slot_at": offered[0]["start"]}
    )
    assert wrong_phone.status_code == 422
    made = await client.post("/api/v1/callbacks", json={**body, "slot_at": offered[0]["start"]})
    assert made.status_code == 201, made.text
    callback = made.json()
    assert (
        callback["phone"] == "+821033334444"
        and callback["status"] == "scheduled"
        and callback["source"] == "api"
    )
    listed = await client.get("/api/v1/callbacks", params={"status": "scheduled"})
    assert [c["id"] for c in listed.json()] == [callback["id"]]
    # Rescheduling needs the new slot; then done.
    r = await client.post(f"/api/v1/callbacks/{callback['id']}/outcome", json={"outcome": "rescheduled"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_slot"
    r = await client.post(
        f"/api/v1/callbacks/{callback['id']}/outcome",
        json={"outcome": "rescheduled", "slot_at": offered[1]["start"]},
    )
    assert r.status_code == 200 and r.json()["slot_at"][:16] != callback["slot_at"][:16]
    r = await client.post(
        f"/api/v1/callbacks/{callback['id']}/outcome", json={"outcome": "done", "note": "해결"}
    )
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert [h["outcome"] for h in r.json()["history"]] == ["rescheduled", "done"]
    # The contact's timeline shows the callback.
    timeline = await client.get(f"/api/v1/contacts/{callback['contact_id']}/timeline")
    assert any(e["kind"] == "callback" for e in timeline.json()["data"])


async def test_the_widget_books_a_callback_and_gets_the_confirmation_in_the_chat(live_server, setup):
    ws, client, inbox_id, _out = setup
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as widget:
        path = f"/widget/v1/{ws.inbox_token}"
        config = (await widget.get(f"{path}/config")).json()
        assert config["callback"] is False and config["strings"]["callback"] == "전화 예약"
        r = await client.patch(
            f"/api/v1/inboxes/{ws.inbox_id}", json={"settings": {"callback_inbox_id": inbox_id}}
        )
        assert r.status_code == 200, r.text
        assert (await widget.get(f"{path}/config")).json()["callback"] is True
        visitor = (await widget.post(f"{path}/session", json={"locale": "ko"})).json()["visitor_token"]
        headers = {"X-Sodam-Visitor": visitor}
        assert (await widget.get(f"{path}/callbacks/slots")).status_code == 401
        slots = (await widget.get(f"{path}/callbacks/slots", headers=headers)).json()
        assert slots["strings"]["title"] == "전화 예약" and slots["slots"][0]["label"]
        english = (
            await widget.get(f"{path}/callbacks/slots", params={"locale": "en"}, headers=headers)
        ).json()
        assert english["strings"]["submit"] == "Book"
        r = await widget.post(
            f"{path}/callbacks",
            json={"slot_at": slots["slots"][0]["start"], "phone": "010 5555 6666"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        booked = r.json()
        assert booked["phone"] == "010-5555-6666" and booked["message"].startswith(
            "전화 예약이 접수되었습니다."
        )
        messages = (await widget.get(f"{path}/messages", headers=headers)).json()
    contents = [
        m["content"]
        for m in (
            messages if isinstance(messages, list) else messages.get("data", messages.get("messages", []))
        )
    ]
    assert booked["message"] in contents
    async with session_scope() as session:
        chat = await session.get(Conversation, booked["conversation_id"])
    assert chat.inbox_id == ws.inbox_id and chat.status == Status.pending  # not a chat waiting for a person
    callback = (await client.get(f"/api/v1/callbacks/{booked['id']}")).json()
    assert callback["source"] == "widget" and callback["origin_conversation_id"] == chat.id


async def test_workspace_isolation_on_every_phone_endpoint(live_server, make_workspace, setup):
    ws, client, inbox_id, out = setup
    other = await make_workspace()
    intruder = api(live_server, other.api_token)
    announcement = (await client.post("/api/v1/phone/announcements", json={"text_ko": "장애 안내"})).json()
    slots = (await client.get("/api/v1/callbacks/slots", params={"inbox_id": inbox_id})).json()["slots"]
    callback = (
        await client.post(
            "/api/v1/callbacks",
            json={"inbox_id": inbox_id, "phone": "010-1111-2222", "slot_at": slots[0]["start"]},
        )
    ).json()
    call = Provider(client, out["webhook_url"])
    await call.twiml(out["webhook_url"])
    probes = [
        ("get", f"/api/v1/phone/lines/{inbox_id}", None),
        ("put", f"/api/v1/phone/lines/{inbox_id}", {"number": "010-0000-0000"}),
        ("patch", f"/api/v1/phone/announcements/{announcement['id']}", {"active": False}),
        ("delete", f"/api/v1/phone/announcements/{announcement['id']}", None),
        ("get", f"/api/v1/callbacks/slots?inbox_id={inbox_id}", None),
        (
            "post",
            "/api/v1/callbacks",
            {"inbox_id": inbox_id, "phone": "010-1111-2222", "slot_at": slots[1]["start"]},
        ),
        ("get", f"/api/v1/callbacks/{callback['id']}", None),
        ("post", f"/api/v1/callbacks/{callback['id']}/outcome", {"outcome": "done"}),
        ("post", f"/api/v1/callbacks/{callback['id']}/cancel", None),
    ]
    for method, url, body in probes:
        r = await intruder.request(method, url, json=body)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    assert (await intruder.get("/api/v1/phone/announcements")).json() == []
    assert (await intruder.get("/api/v1/calls")).json() == []
    assert (await intruder.get("/api/v1/callbacks")).json() == []
    # Unchanged for the owner.
    assert (await client.get(f"/api/v1/callbacks/{callback['id']}")).json()["status"] == "scheduled"
    assert (await client.get("/api/v1/phone/announcements")).json()[0]["active"] is True
    # The webhook: the other workspace's line cannot be driven with its own auth token.
    other_line_token = (await intruder.get(f"/api/v1/phone/lines/{inbox_id}")).status_code
    assert other_line_token == 404
    assert (
        await Provider(client, out["webhook_url"], token="other-workspaces-token").post(out["webhook_url"])
    ).status_code == 403
    # The widget form: a visitor of another workspace's inbox is not this inbox's visitor.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as widget:
        await client.patch(
            f"/api/v1/inboxes/{ws.inbox_id}", json={"settings": {"callback_inbox_id": inbox_id}}
        )
        foreign = (await widget.post(f"/widget/v1/{other.inbox_token}/session", json={})).json()[
            "visitor_token"
        ]
        r = await widget.get(
            f"/widget/v1/{ws.inbox_token}/callbacks/slots", headers={"X-Sodam-Visitor": foreign}
        )
        assert r.status_code == 401
        # The other workspace's widget pointing at this line (a forged setting) finds no such line.
        await intruder.patch(
            f"/api/v1/inboxes/{other.inbox_id}", json={"settings": {"callback_inbox_id": inbox_id}}
        )
        r = await widget.get(
            f"/widget/v1/{other.inbox_token}/callbacks/slots", headers={"X-Sodam-Visitor": foreign}
        )
        assert r.status_code == 404
    # Console pages.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as browser:
        login = await browser.get("/console/login")
        csrf = browser.cookies.get("sodam_csrf")
        r = await browser.post(
            "/console/login",
            data={"email": other.agent_email, "password": other.agent_password, "csrf_token": csrf},
        )
        assert r.status_code in (200, 303), login.status_code
        for url in (f"/console/phone/callbacks/{callback['id']}", f"/console/settings/phone/{inbox_id}"):
            assert (await browser.get(url)).status_code == 404, url
        page = await browser.get("/console/phone")
        assert page.status_code == 200 and "010-1111-2222" not in page.text
        r = await browser.post(
            f"/console/callbacks/{callback['id']}/outcome",
            data={"outcome": "done", "csrf_token": browser.cookies.get("sodam_csrf")},
        )
        assert r.status_code == 404
    assert (await client.get(f"/api/v1/callbacks/{callback['id']}")).json()["status"] == "scheduled"
    async with session_scope() as session:
        assert await session.scalar(select(Message.id).where(Message.content == "침입")) is None
    await intruder.aclose()
