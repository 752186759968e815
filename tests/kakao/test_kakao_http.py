"""The KakaoTalk adapter over HTTP against a fake dealer on loopback: signed inbound events
taken once by serial_number, the session rules on every send, replies split at 1,000
characters, the 5 MB image limit, retries on dealer 500s without duplicates, 알림톡 only from
approved templates with every variable, and workspace isolation of every endpoint."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from sodam.db.session import session_scope
from tests.kakao.fake_dealer import FakeDealer
from tests.kakao.support import api, event, kakao_inbox
from tests.mail.support import eventually


@pytest.fixture
async def dealer():
    d = await FakeDealer().start()
    yield d
    await d.stop()


@pytest.fixture
async def setup(kakao_server, make_workspace, dealer):
    ws = await make_workspace()
    client = api(kakao_server, ws.api_token)
    kakao = await kakao_inbox(client, dealer)
    yield ws, client, kakao
    await client.aclose()


async def _reply(client, cid: int, content: str, **extra):
    return await client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"content": content, "client_id": str(uuid.uuid4()), **extra},
    )


async def _delivery(client, cid: int, message_id: int, want=("sent", "failed")):
    async def done():
        rows = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["data"]
        m = next(r for r in rows if r["id"] == message_id)
        d = ((m["payload"] or {}).get("kakao") or {}).get("delivery") or {}
        return d if d.get("status") in want else None

    return await eventually(done)


async def test_inbound_events_are_signed_and_taken_once_by_serial_number(kakao_server, setup):
    ws, client, kakao = setup
    first = await event(kakao_server.url, kakao, "message", "user-1", text="배송 언제 오나요?", serial="s-1")
    assert first.status_code == 201, first.text
    cid = first.json()["conversation_id"]
    again = await event(kakao_server.url, kakao, "message", "user-1", text="배송 언제 오나요?", serial="s-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["message_id"] == first.json()["message_id"]
    rows = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["data"]
    assert [m["content"] for m in rows] == ["배송 언제 오나요?"]
    # The same user writes again: the same contact and conversation; user_key is the identity.
    second = await event(kakao_server.url, kakao, "message", "user-1", text="주문번호 A-1", serial="s-2")
    assert second.json()["conversation_id"] == cid
    conv = (await client.get(f"/api/v1/conversations/{cid}")).json()
    other = await event(kakao_server.url, kakao, "message", "user-2", text="안녕하세요", serial="s-3")
    conv2 = (await client.get(f"/api/v1/conversations/{other.json()['conversation_id']}")).json()
    assert conv2["contact_id"] != conv["contact_id"]

    # No signature, a wrong secret, another channel's sender_key: refused, nothing stored.
    import httpx

    async with httpx.AsyncClient(base_url=kakao_server.url) as c:
        bare = await c.post(f"/kakao/v1/inboxes/{kakao['inbox_id']}/events", json={"type": "message"})
    assert bare.status_code == 401 and bare.json()["error"]["code"] == "invalid_signature"
    wrong = await event(kakao_server.url, kakao, "message", "user-1", text="x", secret="kksec_wrong")
    assert wrong.status_code == 401
    forged = await event(kakao_server.url, {**kakao, "sender_key": "someone-else"}, "open", "user-1")
    assert forged.status_code == 422 and forged.json()["error"]["code"] == "sender_key_mismatch"
    rows = (await client.get(f"/api/v1/conversations/{cid}/messages")).json()["data"]
    assert len(rows) == 2


async def test_an_answer_in_an_open_session_reaches_the_dealer_split_at_1000_characters(
    kakao_server, setup, dealer
):
    ws, client, kakao = setup
    opened = await event(kakao_server.url, kakao, "open", "user-9")  # 상담 pressed
    assert opened.status_code == 201
    cid = opened.json()["conversation_id"]
    state = (await client.get(f"/api/v1/conversations/{cid}/kakao")).json()
    assert state["open"] is True and state["user_key"] == "user-9"
    long = "주문하신 상품은 오늘 출발합니다. " * 120
    r = await _reply(client, cid, long, buttons=[{"name": "배송 조회", "url": "https://shop.example/track"}])
    assert r.status_code == 201, r.text
    d = await _delivery(client, cid, r.json()["id"])
    assert d["status"] == "sent" and d["parts"] == 3
    got = sorted(dealer.messages(), key=lambda b: b["serial_number"])
    assert [len(b["text"]) <= 1000 for b in got] == [True, True, True]
    assert all(b["user_key"] == "user-9" and b["sender_key"] == kakao["sender_key"] for b in got)
    assert "".join(b["text"] for b in got).replace(" ", "") == long.replace(" ", "")
    assert got[-1]["buttons"] == [
        {
            "type": "WL",
            "name": "배송 조회",
            "url_mobile": "https://shop.example/track",
            "url_pc": "https://shop.example/track",
        }
    ]
    assert got[0]["buttons"] == []


async def test_no_send_outside_a_session_and_the_ways_it_closes(kakao_server, setup, dealer):
    ws, client, kakao = setup
    first = await event(kakao_server.url, kakao, "message", "user-5", text="문의드립니다")
    cid = first.json()["conversation_id"]
    assert (await _reply(client, cid, "네, 말씀하세요")).status_code == 201

    # Ended by the user.
    await event(kakao_server.url, kakao, "end", "user-5")
    refused = await _reply(client, cid, "혹시 더 궁금하신 점 있으세요?")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "kakao_session_closed"
    assert refused.json()["error"]["details"]["alimtalk"] is True
    assert (await client.get(f"/api/v1/conversations/{cid}/kakao")).json()["reason"] == "ended_by_user"

    # Written again: open again. Ended by the agent ("end consultation"): the dealer is told.
    await event(kakao_server.url, kakao, "message", "user-5", text="하나 더요")
    assert (await _reply(client, cid, "네")).status_code == 201
    ended = await client.post(f"/api/v1/conversations/{cid}/kakao/end")
    assert ended.status_code == 200 and ended.json()["open"] is False
    assert (await _reply(client, cid, "또 연락 주세요")).status_code == 409
    assert (await client.post(f"/api/v1/conversations/{cid}/kakao/end")).status_code == 409
    await eventually(lambda: _async(dealer.ended))
    assert dealer.ended[0]["user_key"] == "user-5"

    # Blocked.
    await event(kakao_server.url, kakao, "message", "user-5", text="다시 왔어요")
    await event(kakao_server.url, kakao, "block", "user-5")
    assert (await client.get(f"/api/v1/conversations/{cid}/kakao")).json()["reason"] == "blocked"
    assert (await _reply(client, cid, "차단하셨네요")).status_code == 409

    # 30 days after the user's last message (the clock moved by moving the session back).
    await event(kakao_server.url, kakao, "unblock", "user-5")
    await event(kakao_server.url, kakao, "message", "user-5", text="차단 풀었어요")
    assert (await _reply(client, cid, "감사합니다")).status_code == 201
    async with session_scope() as s:
        await s.execute(
            text(
                "UPDATE kakao_sessions SET opened_at = opened_at - :d, last_user_message_at = last_user_message_at - :d"
                " WHERE inbox_id = :i AND user_key = 'user-5'"
            ),
            {"d": timedelta(days=30, seconds=1), "i": kakao["inbox_id"]},
        )
        await s.commit()
    late = await _reply(client, cid, "한 달이 지났네요")
    assert late.status_code == 409 and late.json()["error"]["details"]["reason"] == "expired"
    # A private note is never a send: always allowed.
    note = await client.post(
        f"/api/v1/conversations/{cid}/messages", json={"content": "메모", "private": True}
    )
    assert note.status_code == 201


async def _async(value):
    return value


async def test_an_image_over_5_mb_is_refused_with_a_clear_error(kakao_server, setup):
    ws, client, kakao = setup
    cid = (await event(kakao_server.url, kakao, "message", "user-7", text="사진 보내주세요")).json()[
        "conversation_id"
    ]
    from tests.attachments.files import png

    big = png() + b"\0" * (5 * 1024 * 1024)
    up = await client.post(
        f"/api/v1/conversations/{cid}/attachments", files={"file": ("big.png", big, "image/png")}
    )
    assert up.status_code == 201, up.text
    r = await _reply(client, cid, "사진입니다", attachments=[up.json()["id"]])
    assert r.status_code == 413 and r.json()["error"]["code"] == "kakao_image_too_large"
    small = await client.post(
        f"/api/v1/conversations/{cid}/attachments", files={"file": ("ok.png", png(), "image/png")}
    )
    ok = await _reply(client, cid, "", attachments=[small.json()["id"]])
    assert ok.status_code == 201, ok.text


async def test_dealer_500s_are_retried_with_backoff_and_never_sent_twice(kakao_server, setup, dealer):
    ws, client, kakao = setup
    cid = (await event(kakao_server.url, kakao, "message", "user-3", text="환불해 주세요")).json()[
        "conversation_id"
    ]
    dealer.statuses = [500, 503]
    r = await _reply(client, cid, "환불 접수했습니다.")
    d = await _delivery(client, cid, r.json()["id"])
    assert d["status"] == "sent" and d["attempts"] == 3
    assert [s for _p, s in dealer.tries] == [500, 503, 200]
    assert len(dealer.messages()) == 1 and dealer.duplicates == 0
    assert dealer.messages()[0]["serial_number"] == f"sodam-{r.json()['id']}-0"

    # Failing on every try: failed, and the console shows why.
    dealer.statuses = [500, 500, 500]
    r2 = await _reply(client, cid, "다시 안내드립니다.")
    d2 = await _delivery(client, cid, r2.json()["id"])
    assert d2["status"] == "failed" and d2["attempts"] == 3 and "500" in d2["error"]


async def test_alimtalk_only_from_approved_templates_with_every_variable(kakao_server, setup, dealer):
    ws, client, kakao = setup
    inbox = kakao["inbox_id"]
    made = await client.post(
        f"/api/v1/inboxes/{inbox}/kakao/templates",
        json={
            "code": "ORDER_SHIPPED",
            "name": "발송 안내",
            "body": "#{고객명}님, 주문 #{주문번호} 상품이 발송되었습니다.",
            "buttons": [{"name": "배송 조회", "url": "https://shop.example/track"}],
        },
    )
    assert made.status_code == 201 and made.json()["status"] == "registered"
    assert made.json()["variables"] == ["고객명", "주문번호"]
    cid = (await event(kakao_server.url, kakao, "message", "user-4", text="주문했어요")).json()[
        "conversation_id"
    ]
    await event(kakao_server.url, kakao, "end", "user-4")
    url = f"/api/v1/conversations/{cid}/kakao/alimtalk"
    full = {"template_code": "ORDER_SHIPPED", "variables": {"고객명": "김민지", "주문번호": "A-1001"}}
    early = await client.post(url, json=full)
    assert early.status_code == 409 and early.json()["error"]["code"] == "template_not_approved"

    # The dealer's inspection: inspecting, then approved (synced from the dealer client).
    dealer.templates = [{"code": "ORDER_SHIPPED", "name": "발송 안내", "status": "inspecting"}]
    assert (await client.post(f"/api/v1/inboxes/{inbox}/kakao/templates/sync")).json()["changed"] == 1
    listed = (await client.get(f"/api/v1/inboxes/{inbox}/kakao/templates")).json()["data"]
    assert listed[0]["status"] == "inspecting"
    assert (await client.post(url, json=full)).status_code == 409
    dealer.templates[0]["status"] = "approved"
    await client.post(f"/api/v1/inboxes/{inbox}/kakao/templates/sync")

    missing = await client.post(
        url, json={"template_code": "ORDER_SHIPPED", "variables": {"고객명": "김민지"}}
    )
    assert missing.status_code == 422 and missing.json()["error"]["details"]["missing"] == ["주문번호"]
    unknown = await client.post(url, json={"template_code": "NOPE", "variables": {}})
    assert unknown.status_code == 404
    sent = await client.post(url, json={**full, "client_id": "alim-1"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["content"] == "김민지님, 주문 A-1001 상품이 발송되었습니다."
    again = await client.post(url, json={**full, "client_id": "alim-1"})
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]
    d = await _delivery(client, cid, sent.json()["id"])
    assert d["status"] == "sent"
    (alim,) = dealer.alimtalks()
    assert alim["template_code"] == "ORDER_SHIPPED" and alim["user_key"] == "user-4"
    assert alim["text"] == "김민지님, 주문 A-1001 상품이 발송되었습니다."
    assert alim["buttons"][0]["url_mobile"] == "https://shop.example/track"


async def test_every_kakao_endpoint_is_workspace_isolated(kakao_server, setup, make_workspace, dealer):
    ws, client, kakao = setup
    cid = (await event(kakao_server.url, kakao, "message", "user-8", text="안녕하세요")).json()[
        "conversation_id"
    ]
    other = await make_workspace()
    b = api(kakao_server, other.api_token)
    inbox = kakao["inbox_id"]
    try:
        for method, path, body in [
            ("GET", f"/api/v1/inboxes/{inbox}/kakao", None),
            (
                "POST",
                f"/api/v1/inboxes/{inbox}/kakao",
                {"sender_key": "x", "dealer_url": dealer.url, "dealer_api_key": "k"},
            ),
            ("GET", f"/api/v1/inboxes/{inbox}/kakao/templates", None),
            ("POST", f"/api/v1/inboxes/{inbox}/kakao/templates", {"code": "A", "body": "b"}),
            ("POST", f"/api/v1/inboxes/{inbox}/kakao/templates/sync", None),
            ("GET", f"/api/v1/conversations/{cid}/kakao", None),
            ("POST", f"/api/v1/conversations/{cid}/kakao/end", None),
            ("POST", f"/api/v1/conversations/{cid}/kakao/alimtalk", {"template_code": "A"}),
        ]:
            r = await b.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
        # B's own inbox's secret cannot post into A's inbox.
        b_kakao = await kakao_inbox(b, dealer)
        forged = await event(
            kakao_server.url, {**kakao, "secret": b_kakao["secret"]}, "message", "u", text="x"
        )
        assert forged.status_code == 401
        # The secrets are never returned after connecting.
        shown = (await client.get(f"/api/v1/inboxes/{inbox}/kakao")).json()
        assert shown["inbound_secret"] is None and "dealer_api_key" not in shown
    finally:
        await b.aclose()
    assert (await client.get(f"/api/v1/conversations/{cid}/kakao")).status_code == 200
