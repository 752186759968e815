"""Answers delivered by mail: a real Sodam server (its SMTP listener on a free loopback port,
its in-process job worker), the real API, and a loopback SMTP server as the inbox's relay."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sodam.conversations.models import Message
from sodam.db.session import session_scope
from sodam.mail.models import MailMessageId
from tests.conftest import free_port
from tests.knowledge.helpers import add_shipping_article
from tests.mail.support import Sink, customer_mail, email_inbox, eventually, send
from tests.test_api_helpers import assert_error, client


@pytest.fixture(scope="module")
def mail_server(server_factory):
    """A server that listens for SMTP (every test server retries sends quickly: 3 tries, 0.2 s,
    0.4 s; tests/conftest.py)."""
    port = free_port()
    server = server_factory(extra_env={"SODAM_SMTP_LISTEN_PORT": str(port)})
    server.smtp_port = port
    return server


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


async def _listening(mail_server):
    """The listener starts once an e-mail inbox exists (checked at start, then every 30 s)."""
    import socket

    async def up():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", mail_server.smtp_port)) == 0

    await eventually(up)


async def _messages(inbox_id: int) -> list[Message]:
    async with session_scope() as session:
        rows = await session.scalars(select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id))
        return list(rows)


async def _first_mail(inbox_id: int, count: int = 1) -> list[Message]:
    async def arrived():
        rows = [m for m in await _messages(inbox_id) if m.sender_type.value == "contact"]
        return rows if len(rows) >= count else None

    return await eventually(arrived)


async def test_an_agent_reply_goes_out_threaded_and_the_answer_threads_back(
    mail_server, make_workspace, sink
):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, relay_port=sink.port, reply_to=None)
    await _listening(mail_server)
    question = customer_mail(to=address, subject="배송 문의", sender="홍길동 <gildong@customer.example>")
    await send(mail_server.smtp_port, question)
    (received,) = await _first_mail(inbox_id)
    async with client(mail_server, ws.api_token) as api:
        conversation = (await api.get(f"/conversations/{received.conversation_id}")).json()
        assert conversation["subject"] == "배송 문의"
        shown = (await api.get(f"/conversations/{received.conversation_id}/messages")).json()["data"][0]
        assert shown["payload"]["mail"]["from"] == "gildong@customer.example"
        r = await api.post(
            f"/conversations/{received.conversation_id}/messages",
            json={"content": "확인해 보니 내일 도착 예정입니다.\n감사합니다.", "client_id": "reply-1"},
        )
        assert r.status_code == 201, r.text
        reply_id = r.json()["id"]
    ((rcpts, mail),) = await sink.wait_for(1)
    assert rcpts == ["gildong@customer.example"]
    assert mail["From"] == f"소담 고객센터 <{address}>"
    assert mail["Subject"] == "Re: 배송 문의"
    assert mail["In-Reply-To"] == question["Message-ID"]
    assert question["Message-ID"] in mail["References"]
    assert mail["Auto-Submitted"] is None  # a person wrote it
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "내일 도착 예정입니다" in text and "소담 고객센터 드림" in text  # the Korean signature
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "내일 도착 예정입니다" in html and "<script" not in html
    ours = mail["Message-ID"].strip("<>")
    async with session_scope() as session:
        recorded = await session.scalar(select(MailMessageId).where(MailMessageId.mail_id == ours))
    assert recorded.ours and recorded.message_id == reply_id

    async def delivered():
        async with session_scope() as session:
            m = await session.get(Message, reply_id)
            return (m.payload or {}).get("mail", {}).get("delivery", {}).get("status") == "sent"

    await eventually(delivered)
    # The customer answers our mail: it lands in the same conversation.
    answer = customer_mail(
        to=address,
        subject="Re: 배송 문의",
        body="네, 감사합니다!",
        in_reply_to=mail["Message-ID"],
        references=[question["Message-ID"], mail["Message-ID"]],
    )
    await send(mail_server.smtp_port, answer)
    first, second = await _first_mail(inbox_id, 2)
    assert second.conversation_id == first.conversation_id and second.content == "네, 감사합니다!"


async def test_a_failing_relay_marks_the_reply_failed_after_the_retries(mail_server, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, relay_port=free_port())  # nobody listens there
    await _listening(mail_server)
    await send(mail_server.smtp_port, customer_mail(to=address))
    (received,) = await _first_mail(inbox_id)
    async with client(mail_server, ws.api_token) as api:
        r = await api.post(
            f"/conversations/{received.conversation_id}/messages",
            json={"content": "답장입니다", "client_id": "r-1"},
        )
        reply_id = r.json()["id"]

    async def final():
        async with session_scope() as session:
            m = await session.get(Message, reply_id)
            delivery = (m.payload or {}).get("mail", {}).get("delivery", {})
            return delivery if delivery.get("status") == "failed" else None

    delivery = await eventually(final)
    assert delivery["attempts"] == 3 and delivery["error"]


async def test_the_bot_answers_a_person_by_mail_but_never_a_robot(mail_server, make_workspace, sink):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, relay_port=sink.port, bot=True)
    await add_shipping_article(ws.workspace_id, "배송기간 얼마나 걸려요?")
    await _listening(mail_server)
    await send(
        mail_server.smtp_port,
        customer_mail(
            to=address,
            subject="자동 응답: 부재중",
            body="배송기간 얼마나 걸려요?",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    await send(
        mail_server.smtp_port, customer_mail(to=address, subject="배송 기간", body="배송기간 얼마나 걸려요?")
    )
    ((_rcpts, mail),) = await sink.wait_for(1)
    assert mail["Auto-Submitted"] == "auto-replied" and mail["Subject"] == "Re: 배송 기간"
    assert "2~3일" in mail.get_body(preferencelist=("plain",)).get_content()
    robot = (await _first_mail(inbox_id, 2))[0]
    assert robot.payload["mail"]["robot"] == "auto_submitted"
    replies = [
        m
        for m in await _messages(inbox_id)
        if m.conversation_id == robot.conversation_id and m.sender_type.value == "bot"
    ]
    assert replies == []
    assert len(sink.received) == 1  # and "도움이 되었나요?" with its buttons is not mailed


async def test_mail_settings_by_api_and_isolation(mail_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    a_inbox, _ = await email_inbox(a)
    b_inbox, b_address = await email_inbox(b, smtp_password="relay-secret")
    async with client(mail_server, a.api_token) as api:
        r = await api.put(
            f"/inboxes/{a_inbox}/mail",
            json={
                "address": f"Help@{a.slug}.example",
                "smtp_host": "smtp.relay.example",
                "smtp_password": "s3cret",
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["address"] == f"help@{a.slug}.example" and body["has_password"] is True
        assert "smtp_password" not in body and "s3cret" not in r.text
        # another workspace's inbox is not found, whatever the verb
        assert_error(await api.get(f"/inboxes/{b_inbox}/mail"), 404)
        assert_error(await api.put(f"/inboxes/{b_inbox}/mail", json={"smtp_host": "evil.example"}), 404)
        # B's address cannot be taken over either
        assert_error(
            await api.put(f"/inboxes/{a_inbox}/mail", json={"address": b_address}), 409, "address_taken"
        )
        # a widget inbox has no mail settings
        assert_error(await api.get(f"/inboxes/{a.inbox_id}/mail"), 409, "not_email_inbox")
        assert_error(
            await api.put(f"/inboxes/{a_inbox}/mail", json={"address": "not an address"}),
            422,
            "invalid_email",
        )
    async with client(mail_server, b.api_token) as api:
        r = await api.get(f"/inboxes/{b_inbox}/mail")
        assert r.json()["smtp_host"] is None and r.json()["has_password"] is True


async def test_a_reply_with_a_file_carries_it_and_a_private_note_is_never_mailed(
    mail_server, make_workspace, sink
):
    from tests.attachments.files import PDF

    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, relay_port=sink.port)
    await _listening(mail_server)
    await send(mail_server.smtp_port, customer_mail(to=address, subject="견적 요청"))
    (received,) = await _first_mail(inbox_id)
    async with client(mail_server, ws.api_token) as api:
        note = await api.post(
            f"/conversations/{received.conversation_id}/messages",
            json={"content": "내부 메모: 단가 확인 필요", "private": True, "client_id": "note-1"},
        )
        assert note.status_code == 201, note.text
        up = await api.post(
            f"/conversations/{received.conversation_id}/attachments", files={"file": ("견적서.pdf", PDF)}
        )
        assert up.status_code == 201, up.text
        r = await api.post(
            f"/conversations/{received.conversation_id}/messages",
            json={
                "content": "견적서를 보내드립니다.",
                "attachments": [up.json()["id"]],
                "client_id": "reply-1",
            },
        )
        assert r.status_code == 201, r.text
    ((_rcpts, mail),) = await sink.wait_for(1)
    files = list(mail.iter_attachments())
    assert [(f.get_filename(), f.get_content_type()) for f in files] == [("견적서.pdf", "application/pdf")]
    assert files[0].get_content() == PDF
    assert "견적서를 보내드립니다" in mail.get_body(preferencelist=("plain",)).get_content()
    assert len(sink.received) == 1 and "내부 메모" not in mail.as_string()
