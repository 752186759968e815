"""Callback notices by e-mail: the confirmation, reminder and no-answer notice also go to the
contact's e-mail address when the workspace has an e-mail inbox that can send (an SMTP relay),
through that inbox's relay, From and signature. Sent by a job (`voice.callback_mail`), never
inside the request that booked."""

from __future__ import annotations

from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.channels.promise import business_hours
from sodam.contacts.models import Contact
from sodam.core.i18n import gettext
from sodam.mail.models import MailInbox
from sodam.mail.outbound import Outgoing, build_mail
from sodam.voice import numbers
from sodam.voice.models import Callback

WHAT = ("confirmed", "reminder", "no_answer")


async def sending_inbox(session: AsyncSession, *, workspace_id: int) -> tuple[MailInbox, Inbox] | None:
    """The workspace's first e-mail inbox with a relay (None: no e-mail can be sent)."""
    row = (
        await session.execute(
            select(MailInbox, Inbox)
            .join(Inbox, Inbox.id == MailInbox.inbox_id)
            .where(MailInbox.workspace_id == workspace_id, MailInbox.smtp_host.is_not(None))
            .order_by(MailInbox.inbox_id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def can_mail(session: AsyncSession, *, callback: Callback) -> bool:
    contact = await session.get(Contact, callback.contact_id)
    return (
        bool(contact and contact.email)
        and (await sending_inbox(session, workspace_id=callback.workspace_id)) is not None
    )


async def prepare(session: AsyncSession, *, callback_id: int, what: str, slot_at: str) -> Outgoing | None:
    """The mail of one notice, or None when it no longer applies (moved, closed, no address)."""
    from sodam.voice.callbacks import when_text

    callback = await session.get(Callback, callback_id)
    if callback is None or what not in WHAT or callback.slot_at.isoformat() != slot_at:
        return None
    if what != "no_answer" and callback.status not in ("scheduled", "due"):
        return None
    contact = await session.get(Contact, callback.contact_id)
    found = await sending_inbox(session, workspace_id=callback.workspace_id)
    if contact is None or not contact.email or found is None:
        return None
    config, mail_inbox = found
    phone_inbox = await session.get(Inbox, callback.inbox_id)
    lang = callback.language
    body = gettext(
        lang,
        f"voice.callback.customer.{what}",
        when=when_text(callback.slot_at, business_hours(phone_inbox) if phone_inbox else None, lang),
        phone=numbers.display(callback.phone),
    )
    domain = config.address.rsplit("@", 1)[-1]
    mail = build_mail(
        config=config,
        inbox_name=mail_inbox.name,
        to_address=contact.email,
        to_name=contact.name,
        subject=gettext(lang, f"voice.callback.mail_subject.{what}"),
        body=body,
        signature=config.signature_en if lang == "en" else config.signature_ko,
        mail_id=make_msgid(idstring=f"callback-{callback.id}-{what}", domain=domain).strip("<>"),
        in_reply_to=None,
        references=[],
        automatic=True,
    )
    return Outgoing(
        workspace_id=callback.workspace_id,
        message_id=0,
        mail=mail,
        recipient=contact.email,
        host=config.smtp_host,
        port=config.smtp_port,
        security=config.smtp_security,
        username=config.smtp_username,
        password=config.smtp_password,
    )
