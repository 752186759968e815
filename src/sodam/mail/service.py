"""E-mail inboxes and the Message-IDs of their conversations. Services never commit."""

from __future__ import annotations

import json
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType, Inbox
from sodam.core.errors import Conflict, Invalid
from sodam.mail.models import MailInbox, MailMessageId

SECURITY = ("starttls", "tls", "none")
CONFIG_FIELDS = (
    "address",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "reply_to",
    "signature_ko",
    "signature_en",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password",
    "imap_folder",
)


def normalise_address(address: str, *, field: str = "address") -> str:
    """A mailbox address, lower-cased ("Support@Co.example" -> "support@co.example")."""
    try:
        found = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(
            f"{field} is not an e-mail address", code="invalid_email", details={"field": field}
        ) from exc
    return found.normalized.lower()


def route_address(address: str) -> str:
    """The inbox address a recipient means: lower-cased, "+tag" dropped (support+shop@ -> support@)."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


async def get_config(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> MailInbox | None:
    """The e-mail settings of an inbox of this workspace (None before they are set)."""
    return await session.scalar(
        select(MailInbox).where(MailInbox.workspace_id == workspace_id, MailInbox.inbox_id == inbox_id)
    )


async def email_inbox(session: AsyncSession, *, workspace_id: int, inbox_id: int) -> Inbox:
    """An inbox of this workspace that is an e-mail inbox (404 / 409 otherwise)."""
    inbox = await inboxes.get(session, workspace_id=workspace_id, inbox_id=inbox_id)
    if inbox.channel_type != ChannelType.email:
        raise Conflict("this inbox is not an e-mail inbox", code="not_email_inbox")
    return inbox


async def set_config(session: AsyncSession, *, workspace_id: int, inbox_id: int, **fields: Any) -> MailInbox:
    """Create or update an e-mail inbox's address, relay and signatures (absent fields unchanged;
    smtp_password "" clears it, None keeps it)."""
    await email_inbox(session, workspace_id=workspace_id, inbox_id=inbox_id)
    config = await get_config(session, workspace_id=workspace_id, inbox_id=inbox_id)
    values = {k: v for k, v in fields.items() if k in CONFIG_FIELDS and v is not None}
    if "address" in values:
        values["address"] = normalise_address(values["address"])
        taken = await session.scalar(
            select(MailInbox.inbox_id).where(
                MailInbox.address == values["address"], MailInbox.inbox_id != inbox_id
            )
        )
        if taken is not None:
            raise Conflict("another inbox already receives mail at this address", code="address_taken")
    elif config is None:
        raise Invalid("an e-mail inbox needs an address", code="invalid_email", details={"field": "address"})
    if values.get("reply_to"):
        values["reply_to"] = normalise_address(values["reply_to"], field="reply_to")
    if "smtp_security" in values and values["smtp_security"] not in SECURITY:
        raise Invalid("smtp_security is starttls, tls or none", code="invalid_smtp_security")
    if "smtp_port" in values and not 1 <= int(values["smtp_port"]) <= 65535:
        raise Invalid("smtp_port is 1-65535", code="invalid_smtp_port")
    if "imap_security" in values and values["imap_security"] not in SECURITY:
        raise Invalid("imap_security is tls, starttls or none", code="invalid_imap_security")
    if "imap_port" in values and not 1 <= int(values["imap_port"]) <= 65535:
        raise Invalid("imap_port is 1-65535", code="invalid_smtp_port")
    if "imap_folder" in values and not str(values["imap_folder"]).strip():
        values["imap_folder"] = "INBOX"
    for key in (
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "reply_to",
        "imap_host",
        "imap_username",
        "imap_password",
    ):
        if key in values and not str(values[key]).strip():
            values[key] = None
    if config is None:
        config = MailInbox(workspace_id=workspace_id, inbox_id=inbox_id, **values)
        session.add(config)
    else:
        for key, value in values.items():
            setattr(config, key, value)
        if fields.get("smtp_password") == "":
            config.smtp_password = None
        if fields.get("imap_password") == "":
            config.imap_password = None
        if {"imap_host", "imap_username", "imap_folder"} & values.keys():
            config.imap_error = None  # a new mailbox: its error (if any) comes from the next poll
    await session.flush()
    return config


async def route(session: AsyncSession, *, address: str) -> MailInbox | None:
    """The e-mail inbox that receives mail at this address (any workspace: RCPT TO decides)."""
    return await session.scalar(select(MailInbox).where(MailInbox.address == route_address(address)))


async def any_email_inbox(session: AsyncSession) -> bool:
    """Whether some workspace has an e-mail inbox with an address (then the listener runs)."""
    return bool(await session.scalar(text("SELECT EXISTS (SELECT 1 FROM mail_inboxes)")))


async def find_id(session: AsyncSession, *, inbox_id: int, mail_id: str) -> MailMessageId | None:
    """A Message-ID already seen (or sent) in this inbox."""
    return await session.scalar(
        select(MailMessageId).where(MailMessageId.inbox_id == inbox_id, MailMessageId.mail_id == mail_id)
    )


async def conversation_of(session: AsyncSession, *, inbox_id: int, mail_ids: list[str]) -> int | None:
    """The conversation of the newest of these Message-IDs known in this inbox."""
    if not mail_ids:
        return None
    return await session.scalar(
        select(MailMessageId.conversation_id)
        .where(MailMessageId.inbox_id == inbox_id, MailMessageId.mail_id.in_(mail_ids[:100]))
        .order_by(MailMessageId.id.desc())
        .limit(1)
    )


async def remember_id(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    conversation_id: int,
    message_id: int | None,
    mail_id: str,
    ours: bool,
) -> None:
    """Record a Message-ID of a conversation (once)."""
    await session.execute(
        text(
            "INSERT INTO mail_message_ids (workspace_id, inbox_id, conversation_id, message_id, mail_id, ours)"
            " VALUES (:w, :i, :c, :m, :id, :ours) ON CONFLICT (inbox_id, mail_id) DO NOTHING"
        ),
        {
            "w": workspace_id,
            "i": inbox_id,
            "c": conversation_id,
            "m": message_id,
            "id": mail_id[:998],
            "ours": ours,
        },
    )


async def thread_ids(session: AsyncSession, *, conversation_id: int) -> list[MailMessageId]:
    """Every Message-ID of a conversation, oldest first."""
    result = await session.scalars(
        select(MailMessageId)
        .where(MailMessageId.conversation_id == conversation_id)
        .order_by(MailMessageId.id)
    )
    return list(result)


async def set_delivery(
    session: AsyncSession, *, workspace_id: int, message_id: int, delivery: dict[str, Any]
) -> None:
    """Record an outgoing message's delivery state in its payload (mail.delivery)."""
    await session.execute(
        text(
            "UPDATE messages SET payload = COALESCE(payload, '{}'::jsonb) || jsonb_build_object('mail',"
            " COALESCE(payload->'mail', '{}'::jsonb) || jsonb_build_object('delivery', CAST(:d AS jsonb)))"
            " WHERE id = :m AND workspace_id = :w"
            # A bounce is the last word: a late retry's outcome never overwrites it.
            " AND (CAST(:bounce AS boolean) OR payload->'mail'->'delivery'->>'bounced' IS NULL)"
        ),
        {
            "d": json.dumps(delivery),
            "m": message_id,
            "w": workspace_id,
            "bounce": bool(delivery.get("bounced")),
        },
    )


async def polled_inboxes(session: AsyncSession) -> list[int]:
    """The inboxes with an IMAP mailbox to poll (every workspace: a job polls them all)."""
    return list(await session.scalars(select(MailInbox.inbox_id).where(MailInbox.imap_host.is_not(None))))
