"""Shared steps of the webhook and API-channel tests (real server, real HTTP)."""

from __future__ import annotations

import uuid

import httpx


def api(live_server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


async def api_inbox(client: httpx.AsyncClient, name: str = "SMS") -> int:
    # Quiet as the test workspace's inbox: no auto-assignment, no first auto-reply (routing).
    r = await client.post(
        "/api/v1/inboxes",
        json={"name": name, "channel_type": "api", "settings": {"auto_assign": False, "auto_reply": False}},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def open_conversation(
    client, inbox_id: int, source_id: str = "010-1234-5678", content: str = "배송이 언제 오나요?", **extra
):
    r = await client.post(
        f"/api/v1/inboxes/{inbox_id}/conversations",
        json={"source_id": source_id, "content": content, "name": "김민지", **extra},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def subscribe(client, url: str, events: list[str] | None = None, inbox_id: int | None = None) -> dict:
    body = {"url": url, "events": events or []}
    if inbox_id is not None:
        body["inbox_id"] = inbox_id
    r = await client.post("/api/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    return r.json()
