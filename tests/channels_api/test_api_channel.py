"""The API channel over HTTP: a developer's platform opens conversations and posts its
customers' messages into an API inbox, idempotently, through the message path."""

from __future__ import annotations

import uuid

import pytest

from tests.attachments.files import png
from tests.webhooks.helpers import api, api_inbox


@pytest.fixture
async def ctx(live_server, make_workspace):
    ws = await make_workspace()
    client = api(live_server, ws.api_token)
    inbox_id = await api_inbox(client)
    yield ws, client, inbox_id
    await client.aclose()


async def test_open_a_conversation_and_post_messages_idempotently(ctx):
    ws, client, inbox_id = ctx
    key = str(uuid.uuid4())
    body = {
        "source_id": "kakao-77",
        "name": "김민지",
        "email": "minji@example.com",
        "content": "환불 문의드려요",
    }
    first = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations", json=body, headers={"Idempotency-Key": key}
    )
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["conversation"]["inbox_id"] == inbox_id
    assert made["message"]["content"] == "환불 문의드려요" and made["message"]["sender_type"] == "contact"

    # A retry after a lost answer: the same conversation and message, 200, nothing new.
    again = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations", json=body, headers={"Idempotency-Key": key}
    )
    assert again.status_code == 200, again.text
    assert again.json()["conversation"]["id"] == made["conversation"]["id"]
    assert again.json()["message"]["id"] == made["message"]["id"]
    # The same key with another body is refused and creates nothing.
    other = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations",
        json={**body, "content": "다른 내용"},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"

    cid = made["conversation"]["id"]
    listed = await client.get("/api/v1/conversations", params={"inbox_id": inbox_id, "status": "open"})
    assert [c["id"] for c in listed.json()["data"]] == [cid]

    # The next customer message: client_id in the body works as the key too.
    msg = {"content": "주문번호는 A-1001입니다", "client_id": "sms-msg-1"}
    sent = await client.post(f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/messages", json=msg)
    assert sent.status_code == 201, sent.text
    repeat = await client.post(f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/messages", json=msg)
    assert repeat.status_code == 200 and repeat.json()["message"]["id"] == sent.json()["message"]["id"]
    reused = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/messages", json={**msg, "content": "바뀐 내용"}
    )
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    # The key of the conversation request cannot be replayed on the messages endpoint.
    cross = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/messages",
        json={"content": "환불 문의드려요"},
        headers={"Idempotency-Key": key},
    )
    assert cross.status_code == 409

    messages = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["data"]
    assert [m["content"] for m in messages] == ["환불 문의드려요", "주문번호는 A-1001입니다"]

    # The same source_id later is the same customer (one identity per channel), in a new conversation.
    later = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations",
        json={"source_id": "kakao-77", "content": "또 문의드려요"},
    )
    assert later.status_code == 201
    assert later.json()["contact_id"] == made["contact_id"]
    assert later.json()["conversation"]["id"] != cid
    contact = (await client.get(f"/api/v1/contacts/{made['contact_id']}")).json()
    assert contact["name"] == "김민지" and contact["email"] == "minji@example.com"


async def test_files_go_with_a_customer_message(ctx):
    _ws, client, inbox_id = ctx
    r = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations", json={"source_id": "u1", "content": "사진 보내드릴게요"}
    )
    cid = r.json()["conversation"]["id"]
    up = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/attachments",
        files={"file": ("파손.png", png(), "image/png")},
    )
    assert up.status_code == 201, up.text
    sent = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/messages",
        json={"content": "", "attachments": [up.json()["id"]]},
        headers={"Idempotency-Key": "photo-1"},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["message"]["payload"]["attachments"][0]["name"] == "파손.png"


async def test_bad_requests_are_refused_clearly(ctx):
    ws, client, inbox_id = ctx
    # A widget inbox is not an API inbox.
    r = await client.post(
        f"/api/v1/inboxes/{ws.inbox_id}/conversations", json={"source_id": "x", "content": "hi"}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_an_api_inbox"
    r = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations", json={"source_id": "x", "content": "  "}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_message"
    r = await client.post(f"/api/v1/inboxes/{inbox_id}/conversations", json={"content": "no source"})
    assert r.status_code == 422
    # A conversation of another inbox is not found through this one.
    other_inbox = await api_inbox(client, "Instagram")
    made = await client.post(
        f"/api/v1/inboxes/{other_inbox}/conversations", json={"source_id": "y", "content": "hi"}
    )
    cid = made.json()["conversation"]["id"]
    r = await client.post(f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/messages", json={"content": "x"})
    assert r.status_code == 404


async def test_another_workspace_sees_nothing(live_server, make_workspace, ctx):
    _ws, client, inbox_id = ctx
    made = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations", json={"source_id": "z", "content": "hi"}
    )
    cid = made.json()["conversation"]["id"]
    stranger = await make_workspace()
    async with api(live_server, stranger.api_token) as other:
        r = await other.post(
            f"/api/v1/inboxes/{inbox_id}/conversations", json={"source_id": "z", "content": "hi"}
        )
        assert r.status_code == 404
        r = await other.post(
            f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/messages", json={"content": "x"}
        )
        assert r.status_code == 404
        own = await api_inbox(other)
        r = await other.post(f"/api/v1/inboxes/{own}/conversations/{cid}/messages", json={"content": "x"})
        assert r.status_code == 404
        r = await other.post(
            f"/api/v1/inboxes/{inbox_id}/conversations/{cid}/attachments",
            files={"file": ("a.png", png(), "image/png")},
        )
        assert r.status_code == 404
