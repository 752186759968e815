"""Shared steps of the KakaoTalk tests: a server whose worker retries dealer sends quickly, a
connected inbox, signed dealer events."""

from __future__ import annotations

import json
import secrets

import httpx

from sodam.webhooks import signing
from tests.webhooks.helpers import api, api_inbox

HEADER = "X-Sodam-Kakao-Signature"


async def kakao_inbox(client: httpx.AsyncClient, dealer, *, name: str = "카카오톡 상담") -> dict:
    inbox_id = await api_inbox(client, name)
    sender_key = "sk-" + secrets.token_hex(6)
    r = await client.post(
        f"/api/v1/inboxes/{inbox_id}/kakao",
        json={"sender_key": sender_key, "dealer_url": dealer.url, "dealer_api_key": dealer.api_key},
    )
    assert r.status_code == 201, r.text
    return {"inbox_id": inbox_id, "sender_key": sender_key, "secret": r.json()["inbound_secret"]}


async def event(
    base_url: str,
    kakao: dict,
    type: str,
    user_key: str,
    *,
    text: str = "",
    serial: str | None = None,
    secret: str | None = None,
) -> httpx.Response:
    body = {
        "serial_number": serial or secrets.token_hex(8),
        "type": type,
        "user_key": user_key,
        "sender_key": kakao["sender_key"],
    }
    if type == "message":
        body["content"] = {"text": text}
    raw = json.dumps(body, ensure_ascii=False).encode()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        return await c.post(
            f"/kakao/v1/inboxes/{kakao['inbox_id']}/events",
            content=raw,
            headers={
                "Content-Type": "application/json",
                HEADER: signing.header(secret or kakao["secret"], raw),
            },
        )


__all__ = ["api", "event", "kakao_inbox"]
