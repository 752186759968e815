"""Helpers for the e-mail tests (no tests here): an e-mail inbox, a loopback SMTP sink that
stands for the inbox's relay, and a client that sends to Sodam's listener."""

from __future__ import annotations

import asyncio
import secrets
import smtplib
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid

from aiosmtpd.controller import Controller

from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.db.session import session_scope
from sodam.mail import service as mail
from tests.conftest import free_port


async def email_inbox(ws, *, relay_port: int | None = None, bot: bool = False, **config) -> tuple[int, str]:
    """An e-mail inbox in the workspace with a fresh address; returns (inbox id, address)."""
    address = f"support-{secrets.token_hex(4)}@{ws.slug}.example"
    async with session_scope() as session:
        inbox = await inboxes.create(
            session,
            workspace_id=ws.workspace_id,
            name="소담 고객센터",
            channel_type=ChannelType.email,
            # Quiet as the test workspace's inbox: no auto-assignment, no first auto-reply.
            settings={"bot_enabled": bot, "auto_assign": False, "auto_reply": False},
        )
        await mail.set_config(
            session,
            workspace_id=ws.workspace_id,
            inbox_id=inbox.id,
            address=address,
            smtp_host="127.0.0.1" if relay_port else None,
            smtp_port=relay_port or 587,
            smtp_security="none",
            signature_ko="소담 고객센터 드림",
            signature_en="The Sodam team",
            **config,
        )
    return inbox.id, address


def customer_mail(
    *,
    to: str,
    subject: str = "배송 문의",
    body: str = "안녕하세요, 주문한 물건이 아직 안 왔어요.",
    sender: str = "홍길동 <gildong@customer.example>",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


async def send(port: int, msg: EmailMessage, *, envelope_from: str | None = None) -> None:
    """Deliver over SMTP to Sodam's listener (stdlib client, on a thread)."""

    def go():
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
            client.send_message(msg, from_addr=envelope_from)

    await asyncio.to_thread(go)


class Sink:
    """A real SMTP server on loopback that keeps what it receives (the inbox's relay)."""

    def __init__(self):
        self.received: list[tuple[list[str], EmailMessage]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                sink.received.append(
                    (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def wait_for(self, count: int = 1, within: float = 30) -> list[tuple[list[str], EmailMessage]]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the relay received {len(self.received)} mail(s), expected {count}")
            await asyncio.sleep(0.1)
        return self.received

    def stop(self):
        self.controller.stop()


async def eventually(check, within: float = 30, interval: float = 0.2):
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
