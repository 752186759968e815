"""E-mail in the console: the inbox settings form, the subject and channel mark, the folded
quote, "원본 보기" in a sandbox, delivery states, and workspace isolation of every new page."""

from __future__ import annotations

import html as htmlmod
import re

from sqlalchemy import select

from sodam.channels.models import Inbox
from sodam.conversations.models import Message
from sodam.db.session import session_scope
from sodam.mail.listener import deliver
from sodam.mail.models import MailInbox
from tests.mail.support import customer_mail, email_inbox
from tests.test_console_helpers import console_client, post

HOSTILE = (
    '<p>주문 <b>취소</b> 부탁드립니다</p><script>alert(1)</script><img src="https://tracker.example/p.gif">'
    '<a href="javascript:alert(2)">x</a><div>On Mon, Dec 1, 2026 at 3:02 PM 소담 &lt;a@b.kr&gt; wrote:</div>'
    "<blockquote>주문해 주셔서 감사합니다</blockquote>"
)


async def _mail_conversation(ws, address: str, **kw) -> Message:
    await deliver(customer_mail(to=address, **kw).as_bytes(), recipients=[address])
    async with session_scope() as session:
        inbox = await session.scalar(select(MailInbox).where(MailInbox.address == address))
        return await session.scalar(
            select(Message).where(Message.inbox_id == inbox.inbox_id).order_by(Message.id.desc()).limit(1)
        )


async def test_the_conversation_shows_subject_fold_and_a_safe_original(live_server, make_workspace):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws)
    msg = customer_mail(to=address, subject="주문 취소 요청")
    msg.clear_content()
    msg.set_content(HOSTILE, subtype="html")
    await deliver(msg.as_bytes(), recipients=[address])
    async with session_scope() as session:
        m = await session.scalar(
            select(Message).where(Message.inbox_id == inbox_id).order_by(Message.id.desc()).limit(1)
        )
    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    page = await console.get(f"/console/conversations/{m.conversation_id}")
    assert page.status_code == 200
    assert 'id="conversation-subject"' in page.text and "주문 취소 요청" in page.text
    assert "이전 내용 보기" in page.text and "주문해 주셔서 감사합니다" in page.text  # folded, not lost
    assert f"/console/conversations/{m.conversation_id}/original?message={m.id}" in page.text
    # An answer that could not be sent says so, with the reason.
    from sodam.conversations import service as conversations
    from sodam.conversations.models import SenderType
    from sodam.mail import service as mail

    async with session_scope() as session:
        conversation = await conversations.get(
            session, workspace_id=ws.workspace_id, conversation_id=m.conversation_id
        )
        answer, _ = await conversations.create_message(
            session,
            conversation=conversation,
            content="취소해 드렸습니다",
            sender_type=SenderType.agent,
            sender_id=ws.agent_id,
        )
        await mail.set_delivery(
            session,
            workspace_id=ws.workspace_id,
            message_id=answer.id,
            delivery={
                "status": "failed",
                "attempts": 5,
                "error": "SMTPConnectError: relay down",
                "bounced": True,
            },
        )
    page = await console.get(f"/console/conversations/{m.conversation_id}")
    assert (
        'data-delivery="failed"' in page.text
        and "메일을 보내지 못했습니다: SMTPConnectError: relay down" in page.text
    )
    listing = await console.get("/console")
    assert "row-subject" in listing.text and "주문 취소 요청" in listing.text
    original = await console.get(
        f"/console/conversations/{m.conversation_id}/original", params={"message": m.id}
    )
    assert original.status_code == 200
    assert "default-src 'none'" in original.headers["content-security-policy"]
    frame = re.search(r'<iframe id="mail-original-frame"[^>]*>', original.text).group(0)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame
    assert "allow-scripts" not in frame and "allow-same-origin" not in frame
    srcdoc = htmlmod.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert "<b>취소</b>" in srcdoc
    for bad in ("<script", "<img", "javascript:", "tracker.example"):
        assert bad not in srcdoc
    assert "<script" not in original.text.split("<iframe")[1]
    await console.aclose()


async def test_settings_form_creates_and_saves_an_email_inbox(live_server, make_workspace):
    ws = await make_workspace()
    console = await console_client(live_server, ws.agent_email, ws.agent_password)
    r = await post(console, "/console/settings/inboxes", {"name": "메일 문의", "channel_type": "email"})
    assert r.status_code == 303 and r.headers["location"].endswith("/mail")
    page_url = r.headers["location"]
    inbox_id = int(page_url.split("/")[-2])
    r = await post(console, page_url, {"address": "not-an-address"})
    assert r.status_code == 422 and "올바른 이메일 주소" in r.text
    address = f"help@{ws.slug}.example"
    r = await post(
        console,
        page_url,
        {
            "address": address,
            "smtp_host": "smtp.relay.example",
            "smtp_port": "465",
            "smtp_security": "tls",
            "smtp_username": "relay-user",
            "smtp_password": "relay-pass",
            "signature_ko": "소담 드림",
            "signature_en": "Sodam",
            "bot_enabled": "1",
        },
    )
    assert r.status_code == 200 and "relay-pass" not in r.text and 'id="password-kept"' in r.text
    async with session_scope() as session:
        config = await session.get(MailInbox, inbox_id)
        inbox = await session.get(Inbox, inbox_id)
        assert (config.address, config.smtp_port, config.smtp_security) == (address, 465, "tls")
        assert config.smtp_password == "relay-pass" and inbox.settings["bot_enabled"] is True
    # saving again with the password box empty keeps the password
    await post(console, page_url, {"address": address, "smtp_host": "smtp.relay.example", "smtp_port": "465"})
    async with session_scope() as session:
        assert (await session.get(MailInbox, inbox_id, populate_existing=True)).smtp_password == "relay-pass"
    await console.aclose()


async def test_other_workspaces_mail_pages_are_not_found(live_server, make_workspace):
    a = await make_workspace()
    b = await make_workspace()
    b_inbox, b_address = await email_inbox(b)
    b_message = await _mail_conversation(b, b_address, subject="B의 비밀")
    console = await console_client(live_server, a.agent_email, a.agent_password)
    assert (await console.get(f"/console/settings/inboxes/{b_inbox}/mail")).status_code == 404
    r = await post(console, f"/console/settings/inboxes/{b_inbox}/mail", {"address": f"x@{a.slug}.example"})
    assert r.status_code == 404
    r = await console.get(
        f"/console/conversations/{b_message.conversation_id}/original", params={"message": b_message.id}
    )
    assert r.status_code == 404 and "B의 비밀" not in r.text
    r = await console.get(f"/console/conversations/{b_message.conversation_id}/deliveries")
    assert r.status_code == 404
    # A's own conversation id with B's message id: still nothing of B
    a_inbox, a_address = await email_inbox(a)
    a_message = await _mail_conversation(a, a_address)
    r = await console.get(
        f"/console/conversations/{a_message.conversation_id}/original", params={"message": b_message.id}
    )
    assert r.status_code == 404
    async with session_scope() as session:
        assert (await session.get(MailInbox, b_inbox)).address == b_address
    await console.aclose()
