"""One timeline: an agent answers on the channel the customer used last or picks another the
contact has; the reply goes out through that channel (an e-mail reaches the loopback relay,
a KakaoTalk answer the fake dealer). And POST /api/v1/conversations starts a conversation
for a contact on a given inbox, idempotently."""

from __future__ import annotations

import uuid

import pytest

from tests.kakao.fake_dealer import FakeDealer
from tests.kakao.support import api, event, kakao_inbox
from tests.mail.support import Sink, email_inbox, eventually
from tests.webhooks.helpers import api_inbox, open_conversation


@pytest.fixture
def timeline_server(kakao_server):
    return kakao_server


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


@pytest.fixture
async def dealer():
    d = await FakeDealer().start()
    yield d
    await d.stop()


async def test_the_channel_picker_sends_on_the_chosen_channel(timeline_server, make_workspace, sink, dealer):
    ws = await make_workspace()
    client = api(timeline_server, ws.api_token)
    try:
        mail_inbox, _address = await email_inbox(ws, relay_port=sink.port)
        sms = await api_inbox(client, "SMS")
        made = await open_conversation(client, sms, source_id="010-1111-2222", email="minji@customer.example")
        cid, contact_id = made["conversation"]["id"], made["contact_id"]

        # Replying on e-mail from the SMS conversation: the mail reaches the relay.
        r = await client.post(
            f"/api/v1/conversations/{cid}/messages",
            json={
                "content": "메일로도 안내드립니다.",
                "via_inbox_id": mail_inbox,
                "client_id": str(uuid.uuid4()),
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["payload"]["via"] == {"inbox_id": mail_inbox, "channel": "email"}
        ((rcpts, mail),) = await sink.wait_for(1)
        assert rcpts == ["minji@customer.example"]
        assert "메일로도 안내드립니다." in mail.get_body(("plain",)).get_content()
        assert "소담 고객센터" in mail["From"]

        # An inbox the contact has no channel on is refused; another workspace's inbox too.
        web = await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"content": "위젯으로", "via_inbox_id": ws.inbox_id}
        )
        assert web.status_code == 422 and web.json()["error"]["code"] == "channel_not_available"
        other = await make_workspace()
        foreign = await client.post(
            f"/api/v1/conversations/{cid}/messages", json={"content": "x", "via_inbox_id": other.inbox_id}
        )
        assert foreign.status_code == 422

        # The same contact on KakaoTalk: replying there from the SMS conversation reaches the dealer,
        # under the same session rules.
        kakao = await kakao_inbox(client, dealer)
        k = await event(timeline_server.url, kakao, "message", "kk-user", text="카톡으로 문의해요")
        kakao_contact = (await client.get(f"/api/v1/conversations/{k.json()['conversation_id']}")).json()[
            "contact_id"
        ]
        assert kakao_contact != contact_id  # a different identity: a different contact until merged
        # In the Kakao conversation itself the default is KakaoTalk; SMS is not one of its channels.
        kcid = k.json()["conversation_id"]
        sent = await client.post(
            f"/api/v1/conversations/{kcid}/messages", json={"content": "카톡 답변입니다"}
        )
        assert sent.status_code == 201

        async def delivered():
            return dealer.messages()

        (got,) = await eventually(delivered)
        assert got["text"] == "카톡 답변입니다" and got["user_key"] == "kk-user"
        assert len(sink.received) == 1  # nothing else went out by mail
    finally:
        await client.aclose()


async def test_post_conversations_starts_one_for_a_contact_on_an_inbox(timeline_server, make_workspace, sink):
    ws = await make_workspace()
    client = api(timeline_server, ws.api_token)
    try:
        mail_inbox, _address = await email_inbox(ws, relay_port=sink.port)
        sms = await api_inbox(client, "SMS")
        made = await open_conversation(client, sms, source_id="010-3333-4444", email="jisoo@customer.example")
        contact_id = made["contact_id"]
        key = str(uuid.uuid4())
        body = {
            "inbox_id": mail_inbox,
            "contact_id": contact_id,
            "subject": "주문 안내",
            "content": "주문이 접수되었습니다.",
        }
        r = await client.post("/api/v1/conversations", json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        conv = r.json()["conversation"]
        assert conv["inbox_id"] == mail_inbox and conv["contact_id"] == contact_id
        assert r.json()["message"]["sender_type"] == "agent"
        ((rcpts, mail),) = await sink.wait_for(1)
        assert rcpts == ["jisoo@customer.example"] and mail["Subject"] == "Re: 주문 안내"

        again = await client.post("/api/v1/conversations", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 200 and again.json()["conversation"]["id"] == conv["id"]
        reused = await client.post(
            "/api/v1/conversations", json={**body, "content": "다른 내용"}, headers={"Idempotency-Key": key}
        )
        assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
        assert len(sink.received) == 1

        # Without a first message: an empty conversation (e.g. to send an 알림톡 next).
        empty = await client.post("/api/v1/conversations", json={"inbox_id": sms, "contact_id": contact_id})
        assert empty.status_code == 201 and empty.json()["message"] is None
        # A subject and no first message (found by the API fuzzer: a 500, the conversation's
        # updated_at expired by the subject's UPDATE and read outside the session's I/O).
        titled = await client.post(
            "/api/v1/conversations", json={"inbox_id": sms, "contact_id": contact_id, "subject": "배송 문의"}
        )
        assert titled.status_code == 201, titled.text
        assert (
            titled.json()["conversation"]["subject"] == "배송 문의"
            and titled.json()["conversation"]["updated_at"]
        )

        # Validation: a contact that cannot be reached there, bad bodies, another workspace's ids.
        bare = (await client.post("/api/v1/contacts", json={"name": "주소 없음"})).json()
        unreachable = await client.post(
            "/api/v1/conversations", json={"inbox_id": mail_inbox, "contact_id": bare["id"]}
        )
        assert unreachable.status_code == 422 and unreachable.json()["error"]["code"] == "contact_unreachable"
        no_identity = await client.post(
            "/api/v1/conversations", json={"inbox_id": sms, "contact_id": bare["id"]}
        )
        assert no_identity.status_code == 422
        assert (await client.post("/api/v1/conversations", json={"inbox_id": mail_inbox})).status_code == 422
        other = await make_workspace()
        b = api(timeline_server, other.api_token)
        try:
            assert (
                await b.post("/api/v1/conversations", json={"inbox_id": mail_inbox, "contact_id": contact_id})
            ).status_code == 404
            assert (
                await b.post(
                    "/api/v1/conversations", json={"inbox_id": other.inbox_id, "contact_id": contact_id}
                )
            ).status_code == 404
            assert (
                await client.post(
                    "/api/v1/conversations", json={"inbox_id": other.inbox_id, "contact_id": contact_id}
                )
            ).status_code == 404
        finally:
            await b.aclose()
    finally:
        await client.aclose()
