"""An answer in an e-mail conversation, sent as a mail through the inbox's SMTP relay.

From = the inbox's name and address, Reply-To, Subject "Re: …", In-Reply-To / References to
the customer's mail, our own Message-ID recorded (the customer's answer threads back by it; a
bounce of it marks the message failed), the signature in the conversation's language, a plain
text part and an HTML part made from escaped text. Automatic answers (the bot's) carry
`Auto-Submitted: auto-replied` and are never sent to mail that came from a machine.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.attachments import service as attachments
from sodam.channels.models import Inbox
from sodam.config import get_settings
from sodam.contacts import service as contacts
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType
from sodam.jobs.app import defer_in_tx
from sodam.mail import service
from sodam.mail.models import MailInbox
from sodam.mail.parse import normalise_subject

DELIVER_TASK = "mail.deliver_reply"


@dataclass
class Outgoing:
    workspace_id: int
    message_id: int
    mail: EmailMessage
    recipient: str
    host: str
    port: int
    security: str
    username: str | None
    password: str | None


def reply_subject(subject: str | None, language: str) -> str:
    base = normalise_subject(subject or "")
    if not base:
        return "문의에 대한 답변입니다" if language == "ko" else "Reply to your message"
    return f"Re: {base}"


def build_mail(
    *,
    config: MailInbox,
    inbox_name: str,
    to_address: str,
    to_name: str | None,
    subject: str,
    body: str,
    signature: str,
    mail_id: str,
    in_reply_to: str | None,
    references: list[str],
    automatic: bool,
    files: list[tuple[str, str, bytes]] = (),
    pixel: str | None = None,
) -> EmailMessage:
    """The MIME message of one answer."""
    msg = EmailMessage()
    msg["From"] = formataddr((inbox_name, config.address))
    msg["To"] = formataddr((to_name or "", to_address))
    if config.reply_to:
        msg["Reply-To"] = config.reply_to
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{mail_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references[-20:])
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    text = body.rstrip() + (f"\n\n-- \n{signature.strip()}" if signature.strip() else "") + "\n"
    msg.set_content(text)
    part = "<br>\n".join(html.escape(line) for line in body.rstrip().split("\n"))
    sig = (
        "<br>\n".join(html.escape(line) for line in signature.strip().split("\n"))
        if signature.strip()
        else ""
    )
    msg.add_alternative(
        '<!doctype html><html><body><div style="font-family:sans-serif;font-size:14px">'
        + part
        + (f'<br><br><div style="color:#666">-- <br>{sig}</div>' if sig else "")
        # A campaign's open pixel (sodam.campaigns.tracking: an opaque token, no secret).
        + (f'<img src="{html.escape(pixel)}" width="1" height="1" alt="">' if pixel else "")
        + "</div></body></html>",
        subtype="html",
    )
    for filename, content_type, data in files:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(
            data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=filename
        )
    return msg


async def _customer_mail(
    session: AsyncSession, conversation: Conversation
) -> tuple[Message | None, Message | None]:
    """(the latest mail from the customer, the latest from a person), newest first."""
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.sender_type == SenderType.contact)
        .order_by(Message.seq.desc())
        .limit(50)
    )
    latest = person = None
    for m in rows:
        mail = (m.payload or {}).get("mail") or {}
        if not mail:
            continue
        latest = latest or m
        if not mail.get("robot") and mail.get("from"):
            person = m
            break
    return latest, person


def _body(message: Message) -> str:
    """The answer's text; a bot answer names its article with the link (there are no cards)."""
    article = (message.payload or {}).get("article") or {}
    url = str(article.get("url") or "")
    if article.get("title") and url.startswith(("http://", "https://")):
        return f"{message.content.rstrip()}\n\n{article['title']}: {url}"
    return message.content


async def prepare(session: AsyncSession, *, message_id: int, attempt: int) -> Outgoing | str:
    """The mail to send for an answer, its Message-ID recorded; or why nothing is sent."""
    message = await session.get(Message, message_id)
    if message is None or message.sender_type not in (SenderType.agent, SenderType.bot):
        return "ignored"
    if message.kind not in (MessageKind.text, MessageKind.bot):
        return "ignored"
    payload = message.payload or {}
    if (payload.get("mail") or {}).get("delivery", {}).get("status") == "sent":
        return "already_sent"
    automatic = message.sender_type == SenderType.bot
    if automatic and payload.get("quick_replies"):
        return "buttons"  # a question with buttons ("도움이 되었나요?") means nothing in a mail
    conversation = await session.get(Conversation, message.conversation_id)
    # A reply sent on e-mail from another channel's conversation (the console's channel
    # picker) goes out through the chosen e-mail inbox.
    inbox_id = int((payload.get("via") or {}).get("inbox_id") or message.inbox_id)
    inbox = await session.get(Inbox, inbox_id)
    config = await service.get_config(session, workspace_id=message.workspace_id, inbox_id=inbox_id)
    if config is None or not config.smtp_host:
        await _fail(session, message, attempt, "no_relay: the inbox has no SMTP relay")
        return "no_relay"
    latest, person = await _customer_mail(session, conversation)
    if automatic and (person is None or latest is not person):
        return "robot"  # the bot never answers a machine (and never starts a mail thread)
    contact = await contacts.get(
        session, workspace_id=message.workspace_id, contact_id=conversation.contact_id
    )
    recipient = ((person.payload or {})["mail"]["from"] if person else None) or contact.email
    if not recipient:
        await _fail(session, message, attempt, "no_recipient: the customer has no e-mail address")
        return "no_recipient"
    ours = await session.scalar(
        select(service.MailMessageId).where(
            service.MailMessageId.message_id == message.id, service.MailMessageId.ours.is_(True)
        )
    )
    if ours is None:
        mail_id = make_msgid(domain=config.address.rpartition("@")[2])[1:-1]
        await service.remember_id(
            session,
            workspace_id=message.workspace_id,
            inbox_id=inbox.id,
            conversation_id=conversation.id,
            message_id=message.id,
            mail_id=mail_id,
            ours=True,
        )
    else:
        mail_id = ours.mail_id
    thread = [t.mail_id for t in await service.thread_ids(session, conversation_id=conversation.id)]
    in_reply_to = (person.payload or {})["mail"]["message_id"] if person else None
    references = [t for t in thread if t != mail_id and t != in_reply_to] + (
        [in_reply_to] if in_reply_to else []
    )
    language = conversation.language or contact.language or "ko"
    language = "en" if language.startswith("en") else "ko"
    campaign = payload.get("campaign") or {}
    files = []
    for wire in payload.get("attachments") or []:
        row = await attachments.get(session, workspace_id=message.workspace_id, public_id=wire["id"])
        files.append((row.filename, row.content_type, await attachments.read(row)))
    mail = build_mail(
        config=config,
        inbox_name=inbox.name,
        to_address=recipient,
        to_name=contact.name,
        # A campaign's first mail has its own subject (no "Re:"); answers thread as usual.
        subject=campaign.get("subject") or reply_subject(conversation.subject, language),
        body=_body(message),
        signature=config.signature_en if language == "en" else config.signature_ko,
        mail_id=mail_id,
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
        files=files,
        pixel=campaign.get("pixel") if str(campaign.get("pixel") or "").startswith("http") else None,
    )
    await service.set_delivery(
        session,
        workspace_id=message.workspace_id,
        message_id=message.id,
        delivery={"status": "sending", "attempts": attempt, "message_id": mail_id, "to": recipient},
    )
    # Shown with the message (mail.message_id) whatever happens next.
    return Outgoing(
        workspace_id=message.workspace_id,
        message_id=message.id,
        mail=mail,
        recipient=recipient,
        host=config.smtp_host,
        port=config.smtp_port,
        security=config.smtp_security,
        username=config.smtp_username,
        password=config.smtp_password,
    )


async def send(out: Outgoing) -> None:
    """Hand the mail to the relay (raises on refusal or a network failure)."""
    await aiosmtplib.send(
        out.mail,
        recipients=[out.recipient],
        hostname=out.host,
        port=out.port,
        username=out.username,
        password=out.password if out.username else None,
        use_tls=out.security == "tls",
        start_tls=True if out.security == "starttls" else False,
        timeout=get_settings().mail_send_timeout_s,
    )


async def sent(session: AsyncSession, out: Outgoing, *, attempt: int) -> None:
    await service.set_delivery(
        session,
        workspace_id=out.workspace_id,
        message_id=out.message_id,
        delivery={
            "status": "sent",
            "attempts": attempt,
            "message_id": out.mail["Message-ID"].strip("<>"),
            "to": out.recipient,
            "at": datetime.now(UTC).isoformat(),
        },
    )


async def _fail(session: AsyncSession, message: Message, attempt: int, error: str) -> None:
    await service.set_delivery(
        session,
        workspace_id=message.workspace_id,
        message_id=message.id,
        delivery={
            "status": "failed",
            "attempts": attempt,
            "error": error[:300],
            "at": datetime.now(UTC).isoformat(),
        },
    )


async def failed(session: AsyncSession, out: Outgoing, *, attempt: int, error: str) -> str:
    """A failed try: another one later (backoff), or failed for good after the last."""
    settings = get_settings()
    delivery: dict[str, Any] = {
        "attempts": attempt,
        "error": error[:300],
        "message_id": out.mail["Message-ID"].strip("<>"),
        "to": out.recipient,
        "at": datetime.now(UTC).isoformat(),
    }
    if attempt >= settings.mail_send_attempts:
        await service.set_delivery(
            session,
            workspace_id=out.workspace_id,
            message_id=out.message_id,
            delivery={**delivery, "status": "failed"},
        )
        return "failed"
    wait = timedelta(seconds=settings.mail_retry_base_s * 2 ** (attempt - 1))
    next_at = datetime.now(UTC) + wait
    await service.set_delivery(
        session,
        workspace_id=out.workspace_id,
        message_id=out.message_id,
        delivery={**delivery, "status": "retrying", "next_at": next_at.isoformat()},
    )
    await defer_in_tx(
        session,
        DELIVER_TASK,
        {"message_id": out.message_id, "attempt": attempt + 1},
        queue="mail",
        scheduled_at=next_at,
    )
    return "retrying"
