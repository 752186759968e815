"""Mail received by the built-in SMTP listener (a real aiosmtpd server on loopback, the stdlib
SMTP client): conversations, threading, redelivery, hostile HTML, robots, attachments."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select, text

from sodam.contacts import service as contacts
from sodam.conversations.models import Conversation, Message
from sodam.db.session import session_scope
from sodam.jobs.app import load_task_modules
from sodam.mail.listener import start_server
from sodam.mail.parse import client_id_for
from tests.attachments.files import png
from tests.conftest import free_port
from tests.mail.support import customer_mail, email_inbox, send


@pytest.fixture
async def smtp_port(db):
    load_task_modules()  # the reactions a stored mail defers (bot, sentiment, …)
    port = free_port()
    server = await start_server("127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


async def _messages(inbox_id: int) -> list[Message]:
    async with session_scope() as session:
        rows = await session.scalars(select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id))
        return list(rows)


async def _conversation(conversation_id: int) -> Conversation:
    async with session_scope() as session:
        return await session.get(Conversation, conversation_id)


async def _jobs(task: str, message_id: int) -> int:
    async with session_scope() as session:
        return await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND (args->>'message_id')::bigint = :m"
            ),
            {"t": task, "m": message_id},
        )


async def test_a_mail_starts_a_conversation_with_its_subject_and_sender(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    body = "안녕하세요, 주문한 물건이 아직 안 왔어요.\n\n2026년 12월 1일 (화) 오후 3:02, 소담 <a@b.kr>님이 작성:\n> 주문 감사합니다"
    await send(smtp_port, customer_mail(to=address, subject="배송 문의", body=body))
    (message,) = await _messages(inbox_id)
    conversation = await _conversation(message.conversation_id)
    assert conversation.subject == "배송 문의"
    assert message.content == "안녕하세요, 주문한 물건이 아직 안 왔어요."
    mail = message.payload["mail"]
    assert mail["quote"].startswith("2026년 12월 1일") and "> 주문 감사합니다" in mail["quote"]
    assert mail["from"] == "gildong@customer.example" and mail["robot"] is None
    async with session_scope() as session:
        contact = await contacts.get(
            session, workspace_id=ws.workspace_id, contact_id=conversation.contact_id
        )
    assert (contact.name, contact.email) == ("홍길동", "gildong@customer.example")


async def test_a_reply_threads_and_a_new_subject_starts_another(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    first = customer_mail(to=address, subject="환불 요청")
    await send(smtp_port, first)
    reply = customer_mail(
        to=address,
        subject="Re: 환불 요청",
        body="추가로 사진 보내드립니다.",
        in_reply_to=first["Message-ID"],
        references=[first["Message-ID"]],
    )
    await send(smtp_port, reply)
    await send(smtp_port, customer_mail(to=address, subject="다른 질문입니다", body="영업시간이 궁금해요"))
    one, two, three = await _messages(inbox_id)
    assert one.conversation_id == two.conversation_id
    assert three.conversation_id != one.conversation_id
    # the same sender: one contact, two conversations
    assert (await _conversation(three.conversation_id)).contact_id == (
        await _conversation(one.conversation_id)
    ).contact_id
    assert (await _conversation(three.conversation_id)).subject == "다른 질문입니다"


async def test_a_redelivered_mail_is_not_a_duplicate(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    msg = customer_mail(to=address, message_id="<same-id-42@customer.example>")
    await send(smtp_port, msg)
    await send(smtp_port, msg)
    (message,) = await _messages(inbox_id)
    assert message.client_id == client_id_for("same-id-42@customer.example") and len(message.client_id) <= 64
    async with session_scope() as session:
        conversations = await session.scalar(
            select(text("count(*)")).select_from(Conversation).where(Conversation.inbox_id == inbox_id)
        )
    assert conversations == 1


async def test_an_unknown_recipient_is_refused(smtp_port, make_workspace):
    ws = await make_workspace()
    await email_inbox(ws)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send(smtp_port, customer_mail(to=f"nobody@{ws.slug}.example"))


async def test_hostile_html_is_stored_inert(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    hostile = (
        "<html><head><style>p{background:expression(alert(1))}</style><script>alert('x')</script></head>"
        '<body onload="alert(1)"><p style="width:expression(alert(2))">Hello <b>agent</b></p>'
        '<img src="https://tracker.example/pixel.gif" onerror="alert(3)">'
        '<a href="javascript:alert(4)">click</a> <a href="https://shop.example/order/1">order</a>'
        '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input></form>'
        "</body></html>"
    )
    msg = customer_mail(to=address, html=hostile)
    msg.clear_content()
    msg.set_content(hostile, subtype="html")  # HTML only: the text is derived from it
    await send(smtp_port, msg)
    (message,) = await _messages(inbox_id)
    html = message.payload["mail"]["html"]
    for bad in (
        "<script",
        "onload",
        "onerror",
        "expression(",
        "javascript:",
        "<img",
        "tracker.example",
        "<iframe",
        "<form",
        "style=",
    ):
        assert bad not in html.lower(), bad
    assert "<b>agent</b>" in html and 'href="https://shop.example/order/1"' in html
    assert message.content.startswith("Hello agent") and "alert" not in message.content


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_submitted"),
        ({"Precedence": "bulk"}, "precedence"),
        ({"X-Autoreply": "yes"}, "autoreply"),
        ({"List-Id": "<news.shop.example>"}, "list"),
    ],
)
async def test_machine_mail_is_recorded_but_never_answered(smtp_port, make_workspace, headers, reason):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, bot=True)
    await send(smtp_port, customer_mail(to=address, subject="부재중 자동 응답", headers=headers))
    await send(smtp_port, customer_mail(to=address, subject="사람의 질문", body="배송기간 얼마나 걸려요?"))
    robot, person = await _messages(inbox_id)
    assert robot.payload["mail"]["robot"] == reason and robot.payload["no_reply"] is True
    assert await _jobs("bot.on_customer_message", robot.id) == 0
    assert await _jobs("bot.on_customer_message", person.id) == 1  # the bot does answer people
    assert "no_reply" not in person.payload


async def test_a_bounce_is_recorded_and_not_answered(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, bot=True)
    dsn = customer_mail(
        to=address, subject="Undelivered Mail Returned to Sender", sender="MAILER-DAEMON@mx.example"
    )
    dsn.clear_content()
    dsn.make_mixed()
    dsn.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b1"')
    raw = dsn.as_bytes().split(b"\n\n", 1)[0] + (
        b"\n\n--b1\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        b"--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
        b"Final-Recipient: rfc822; gone@customer.example\nAction: failed\nStatus: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
        b"--b1\nContent-Type: text/rfc822-headers\n\nMessage-ID: <not-ours@elsewhere.example>\n--b1--\n"
    )

    def go():
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as client:
            client.sendmail("", [address], raw)

    import asyncio

    await asyncio.to_thread(go)
    (message,) = await _messages(inbox_id)
    assert message.payload["mail"]["robot"] == "bounce"
    assert message.payload["mail"]["bounce_reason"] == "smtp; 550 5.1.1 user unknown"
    assert await _jobs("bot.on_customer_message", message.id) == 0


async def test_attachments_go_through_the_store_and_a_refused_one_is_noted(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    msg = customer_mail(to=address, subject="사진 첨부")
    msg.add_attachment(png(), maintype="image", subtype="png", filename="파손 사진.png")
    msg.add_attachment(
        b"MZ\x90\x00" + b"\x00" * 200, maintype="application", subtype="octet-stream", filename="setup.exe"
    )
    await send(smtp_port, msg)
    (message,) = await _messages(inbox_id)
    files = message.payload["attachments"]
    assert [f["name"] for f in files] == ["파손 사진.png"] and files[0]["kind"] == "image"
    assert [r["filename"] for r in message.payload["mail"]["refused"]] == ["setup.exe"]
    assert message.content.startswith("안녕하세요")


async def test_a_verified_widget_member_and_their_mail_are_one_contact(smtp_port, make_workspace):
    from sodam.channels import identity
    from sodam.channels import service as inboxes

    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    # Mail first, then the same person signs in on the shop and opens the chat.
    await send(smtp_port, customer_mail(to=address, sender="김민지 <minji@customer.example>"))
    (mail_message,) = await _messages(inbox_id)
    async with session_scope() as session:
        widget = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        member = await identity.member_contact(
            session,
            inbox=widget,
            member_id="m-1",
            fields={"email": "Minji@customer.example", "name": "김민지"},
        )
    assert member.id == (await _conversation(mail_message.conversation_id)).contact_id
    # Chat first, then mail from the verified address.
    async with session_scope() as session:
        widget = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        chatter = await identity.member_contact(
            session, inbox=widget, member_id="m-2", fields={"email": "jun@customer.example", "name": "이준"}
        )
    await send(smtp_port, customer_mail(to=address, sender="Jun <jun@customer.example>", subject="주문 취소"))
    latest = (await _messages(inbox_id))[-1]
    assert (await _conversation(latest.conversation_id)).contact_id == chatter.id


async def _our_reply(ws, conversation_id: int) -> tuple[int, str]:
    """An agent's reply with its outgoing Message-ID recorded (as the delivery job does)."""
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.mail import outbound

    async with session_scope() as session:
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=conversation_id
        )
        reply, _ = await conversations.create_message(
            session,
            conversation=conversation,
            content="답변드립니다",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
    async with session_scope() as session:
        out = await outbound.prepare(session, message_id=reply.id, attempt=1)
    return reply.id, out.mail["Message-ID"].strip("<>")


async def test_a_bounce_of_our_reply_marks_it_failed(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, relay_port=free_port())
    await send(smtp_port, customer_mail(to=address))
    (question,) = await _messages(inbox_id)
    reply_id, ours = await _our_reply(ws, question.conversation_id)
    raw = (
        f"From: MAILER-DAEMON@mx.customer.example\nTo: {address}\nSubject: Delivery Status Notification (Failure)\n"
        f"Message-ID: <dsn-{reply_id}@mx.customer.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b2"\n\n'
        "--b2\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--b2\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.example\n\n"
        "Final-Recipient: rfc822; gildong@customer.example\nAction: failed\nStatus: 5.2.2\n"
        "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n"
        f"--b2\nContent-Type: text/rfc822-headers\n\nMessage-ID: <{ours}>\nSubject: Re: 배송 문의\n--b2--\n"
    ).encode()

    def go():
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as client:
            client.sendmail("", [address], raw)

    import asyncio

    await asyncio.to_thread(go)
    messages = await _messages(inbox_id)
    bounce = messages[-1]
    assert bounce.payload["mail"]["robot"] == "bounce" and bounce.conversation_id == question.conversation_id
    async with session_scope() as session:
        reply = await session.get(Message, reply_id)
    delivery = reply.payload["mail"]["delivery"]
    assert delivery["status"] == "failed" and delivery["error"] == "bounced: smtp; 552 5.2.2 mailbox full"


async def test_our_own_mail_coming_back_is_marked_and_not_answered(smtp_port, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, relay_port=free_port(), bot=True)
    await send(smtp_port, customer_mail(to=address))
    (question,) = await _messages(inbox_id)
    _reply_id, ours = await _our_reply(ws, question.conversation_id)
    # A forwarding loop hands our own reply back to us.
    await send(smtp_port, customer_mail(to=address, subject="Re: 배송 문의", message_id=f"<{ours}>"))
    looped = [m for m in await _messages(inbox_id) if m.sender_type.value == "contact"][-1]
    assert looped.payload["mail"]["robot"] == "ours" and looped.conversation_id == question.conversation_id
    assert await _jobs("bot.on_customer_message", looped.id) == 0


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl), and the key."""
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


async def test_the_listener_offers_starttls_with_a_certificate(db, make_workspace, certificate):
    import asyncio
    import ssl

    from sodam.mail.listener import tls_context

    cert, key = certificate
    port = free_port()
    server = await start_server("127.0.0.1", port, tls=tls_context(cert, key))
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)

    def go():
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=ssl.create_default_context(cafile=cert))  # verified against it
            client.ehlo()
            client.send_message(customer_mail(to=address, subject="암호화된 메일"))

    try:
        await asyncio.to_thread(go)
    finally:
        server.close()
        await server.wait_closed()
    (message,) = await _messages(inbox_id)
    assert (await _conversation(message.conversation_id)).subject == "암호화된 메일"
