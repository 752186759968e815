"""An incident announcement appears on every surface while it is active — the widget banner,
the bot (before its answer), the first auto-reply and the IVR — and clears everywhere."""

from __future__ import annotations

import asyncio
import secrets

import httpx
from sqlalchemy import select

from sodam.conversations.models import Message, SenderType
from sodam.db.session import session_scope
from tests.voice.helpers import TREE, Provider, phone_inbox, verbs
from tests.webhooks.helpers import api as make_api

NOTICE_KO = "현재 결제 장애가 있습니다. 복구 중입니다."
NOTICE_EN = "Payments are down; we are fixing it."


async def _visitor_says(live_server, inbox_token: str, text: str, locale: str = "ko") -> int:
    async with httpx.AsyncClient(base_url=f"{live_server.url}/widget/v1/{inbox_token}", timeout=20) as w:
        s = (await w.post("/session", json={"locale": locale})).json()
        r = await w.post(
            "/messages",
            json={"content": text, "client_id": secrets.token_hex(6)},
            headers={"X-Sodam-Visitor": s["visitor_token"]},
        )
        assert r.status_code == 201, r.text
        return r.json()["conversation_id"]


async def _bot_messages(conversation_id: int, want: int = 1, seconds: float = 30) -> list[Message]:
    found: list[Message] = []
    for _ in range(int(seconds * 5)):
        async with session_scope() as session:
            found = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.sender_type == SenderType.bot)
                    .order_by(Message.seq)
                )
            )
        if len(found) >= want:
            return found
        await asyncio.sleep(0.2)
    return found


async def test_an_announcement_on_every_surface_then_cleared(live_server, make_workspace):
    ws = await make_workspace(bot_enabled=True)
    quiet = await make_workspace(auto_reply=True, auto_assign=True)  # no bot: the first auto-reply
    async with make_api(live_server, ws.api_token) as api, make_api(live_server, quiet.api_token) as api2:
        phone, out = await phone_inbox(api)
        assert (await api.put(f"/api/v1/phone/lines/{phone}", json={"ivr": TREE})).status_code == 200
        r = await api.post(
            "/api/v1/announcements", json={"text_ko": NOTICE_KO, "text_en": NOTICE_EN, "severity": "critical"}
        )
        assert r.status_code == 201 and r.json()["live"] is True, r.text
        announcement = r.json()["id"]
        r2 = await api2.post("/api/v1/announcements", json={"text_ko": NOTICE_KO})
        assert r2.status_code == 201

        # The widget banner, in the visitor's language.
        banner = (await api.get(f"/widget/v1/{ws.inbox_token}/banner?locale=en")).json()
        assert banner["items"] == [
            {
                "id": announcement,
                "kind": "announcement",
                "severity": "critical",
                "text": NOTICE_EN,
                "ends_at": None,
            }
        ]
        # The bot says it first (once per conversation), then answers.
        conv = await _visitor_says(live_server, ws.inbox_token, "결제가 안 돼요")
        said = await _bot_messages(conv, want=2)
        assert said[0].content == NOTICE_KO and said[0].payload["announcement"] == announcement
        assert len([m for m in said if (m.payload or {}).get("announcement")]) == 1
        # The first auto-reply starts with it.
        conv2 = await _visitor_says(live_server, quiet.inbox_token, "결제 문의입니다")
        auto = await _bot_messages(conv2)
        assert auto and auto[0].content.startswith(NOTICE_KO) and auto[0].payload.get("auto_reply")
        # The IVR plays it before the menu (the phone API's view of the same row).
        doc = await Provider(api, out["webhook_url"]).twiml(out["webhook_url"])
        assert verbs(doc)[0] == "Say" and doc[0].text == NOTICE_KO
        assert [a["id"] for a in (await api.get("/api/v1/phone/announcements")).json()] == [announcement]

        # Cleared: gone everywhere.
        r = await api.post(f"/api/v1/announcements/{announcement}/clear")
        assert r.status_code == 200 and r.json()["live"] is False and r.json()["cleared_at"]
        await api2.post(f"/api/v1/announcements/{r2.json()['id']}/clear")
        assert (await api.get(f"/widget/v1/{ws.inbox_token}/banner")).json()["items"] == []
        doc = await Provider(api, out["webhook_url"], caller="+821099990000").twiml(out["webhook_url"])
        assert verbs(doc)[0] == "Gather"
        conv3 = await _visitor_says(live_server, ws.inbox_token, "배송 문의요")
        said = await _bot_messages(conv3)
        assert said and not any((m.payload or {}).get("announcement") for m in said)
        conv4 = await _visitor_says(live_server, quiet.inbox_token, "환불 문의")
        auto = await _bot_messages(conv4)
        assert auto and NOTICE_KO not in auto[0].content


async def test_a_scheduled_window_starts_and_ends_on_its_own(live_server, make_workspace):
    ws = await make_workspace()
    async with make_api(live_server, ws.api_token) as api:
        r = await api.post(
            "/api/v1/announcements",
            json={
                "text_ko": "점검 예정",
                "starts_at": "2099-01-01T00:00:00Z",
                "ends_at": "2099-01-02T00:00:00Z",
            },
        )
        assert r.status_code == 201 and r.json()["live"] is False
        assert (await api.get(f"/widget/v1/{ws.inbox_token}/banner")).json()["items"] == []
        r = await api.post(
            "/api/v1/announcements", json={"text_ko": "끝난 점검", "ends_at": "2001-01-01T00:00:00Z"}
        )
        assert r.json()["live"] is False
