"""The built-in SMTP listener (aiosmtpd): mail for an inbox's address becomes a message.

RCPT TO is checked against the inboxes' addresses (550 for anyone else: no open relay). A mail
is acknowledged (250) only after it is committed; a failure answers 451, so the sending
server tries again later, and the Message-ID makes that retry the same message. Several
`sodam serve` processes share the port (SO_REUSEPORT).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl

from aiosmtpd.smtp import SMTP, Envelope, Session

from sodam.channels.models import Inbox
from sodam.config import get_settings
from sodam.db.session import session_scope
from sodam.mail import inbound, service
from sodam.mail.parse import parse_mail

log = logging.getLogger(__name__)
MAX_RECIPIENTS = 20
WAIT_FOR_INBOX_S = 30.0


class InboxHandler:
    """aiosmtpd handler: route by recipient, parse on a thread, store, then acknowledge."""

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options):  # noqa: N802
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            async with session_scope() as db:
                config = await service.route(db, address=address)
        except Exception:
            log.exception("could not look up a recipient")
            return "451 4.3.0 Temporary failure, please try again later"
        if config is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope):  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            await deliver(raw, recipients=list(envelope.rcpt_tos), envelope_from=envelope.mail_from)
        except Exception:
            log.exception("could not store a received mail")
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 Message accepted"


async def deliver(raw: bytes, *, recipients: list[str], envelope_from: str | None = None) -> list[int]:
    """Store one mail in the inbox of every recipient address (each in its own transaction);
    returns the message ids."""
    mail = await asyncio.to_thread(parse_mail, raw, envelope_from=envelope_from)
    stored = []
    for address in dict.fromkeys(service.route_address(r) for r in recipients):
        async with session_scope() as db:
            config = await service.route(db, address=address)
            if config is None:
                continue
            inbox = await db.get(Inbox, config.inbox_id)
            message, _created = await inbound.receive(db, config=config, inbox=inbox, mail=mail)
            stored.append(message.id)
    return stored


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The STARTTLS context of the listener, when a certificate is configured."""
    if not cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key or None)
    return context


async def start_server(host: str, port: int, *, tls: ssl.SSLContext | None = None) -> asyncio.Server:
    """Listen for SMTP on host:port (the port shared with other processes); STARTTLS with `tls`
    or the configured certificate."""
    settings = get_settings()
    handler = InboxHandler()
    loop = asyncio.get_running_loop()
    # Once, off the loop: aiosmtpd would otherwise ask DNS for it on every connection.
    hostname = await asyncio.to_thread(socket.getfqdn)
    context = tls or tls_context(
        str(settings.smtp_tls_cert) if settings.smtp_tls_cert else None,
        str(settings.smtp_tls_key) if settings.smtp_tls_key else None,
    )
    return await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.smtp_max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="Sodam ESMTP",
            timeout=120,
            tls_context=context,
        ),
        host=host,
        port=port,
        reuse_port=True,
    )


class MailListener:
    """Started with `sodam serve`: listens once some inbox has an address (checked every 30 s
    until then), so a server without e-mail inboxes opens no port."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.server: asyncio.Server | None = None
        self._waiting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.port:
            self._waiting = asyncio.create_task(self._start_when_needed(), name="sodam-smtp-listener")

    async def _start_when_needed(self) -> None:
        while True:
            try:
                async with session_scope() as db:
                    needed = await service.any_email_inbox(db)
                if needed:
                    self.server = await start_server(self.host, self.port)
                    log.info("SMTP listener on %s:%d", self.host, self.port)
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("SMTP listener could not start; trying again", exc_info=True)
            await asyncio.sleep(WAIT_FOR_INBOX_S)

    async def stop(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
