"""A campaign sent as 알림톡 to a segment of KakaoTalk customers, end to end through the fake
dealer: only from an approved template, every variable filled (the customer's name by
{name}), each customer once, and the campaign's counts."""

from __future__ import annotations

import asyncio

import pytest

from tests.kakao.fake_dealer import FakeDealer
from tests.kakao.support import api, event, kakao_inbox
from tests.mail.support import eventually


@pytest.fixture
async def dealer():
    d = await FakeDealer().start()
    yield d
    await d.stop()


async def test_an_alimtalk_campaign_reaches_each_kakao_customer_once(kakao_server, make_workspace, dealer):
    ws = await make_workspace()
    client = api(kakao_server, ws.api_token)
    try:
        kakao = await kakao_inbox(client, dealer)
        inbox = kakao["inbox_id"]
        for user in ("kk-a", "kk-b", "kk-c"):
            r = await event(kakao_server.url, kakao, "message", user, text="주문 확인 부탁드려요")
            assert r.status_code == 201, r.text
        made = await client.post(
            f"/api/v1/inboxes/{inbox}/kakao/templates",
            json={
                "code": "SALE_NOTICE",
                "name": "할인 안내",
                "body": "#{고객명}님, 이번 주 #{혜택} 안내드립니다.",
            },
        )
        assert made.status_code == 201, made.text
        seg = await client.post(
            "/api/v1/segments",
            json={
                "name": "카카오톡 고객",
                "filter": {"all": [{"field": "channel", "op": "in", "value": ["api"]}]},
            },
        )
        assert seg.status_code == 201, seg.text
        body = {
            "name": "주간 혜택",
            "segment_id": seg.json()["id"],
            "inbox_id": inbox,
            "channel": "alimtalk",
            "template_code": "SALE_NOTICE",
            "template_variables": {"고객명": "{name}", "혜택": "무료 배송"},
            "rate_per_s": 50,
        }
        created = await client.post("/api/v1/campaigns", json=body)
        assert created.status_code == 201, created.text
        cid = created.json()["id"]

        # Not approved yet: the campaign sends nothing.
        await client.post(f"/api/v1/campaigns/{cid}/start")
        await asyncio.sleep(3)
        assert dealer.alimtalks() == []

        # The dealer approves; a second campaign with the same copy goes out.
        dealer.templates = [{"code": "SALE_NOTICE", "name": "할인 안내", "status": "approved"}]
        assert (await client.post(f"/api/v1/inboxes/{inbox}/kakao/templates/sync")).status_code == 200
        again = await client.post("/api/v1/campaigns", json={**body, "name": "주간 혜택 2"})
        cid2 = again.json()["id"]
        assert (await client.post(f"/api/v1/campaigns/{cid2}/start")).status_code == 200

        async def sent():
            return dealer.alimtalks() if len(dealer.alimtalks()) >= 3 else None

        got = await eventually(sent)
        await asyncio.sleep(1)
        assert len(dealer.alimtalks()) == 3 and dealer.duplicates == 0
        assert sorted(a["user_key"] for a in got) == ["kk-a", "kk-b", "kk-c"]
        assert all(a["template_code"] == "SALE_NOTICE" for a in got)
        assert all(a["text"].endswith("님, 이번 주 무료 배송 안내드립니다.") for a in got)
        assert "#{" not in "".join(a["text"] for a in got)

        async def counted():
            stats = (await client.get(f"/api/v1/campaigns/{cid2}/stats")).json()
            return stats if stats.get("sent") == 3 else None

        stats = await eventually(counted)
        assert stats["sent"] == 3
    finally:
        await client.aclose()
