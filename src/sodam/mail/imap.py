"""IMAP polling: new mail in a mailbox Sodam cannot receive for directly (a hosted mailbox).

The mailbox is opened read-only (nothing is flagged, moved or deleted). The first read takes
the unread mail; after that, everything after the last UID stored. A changed UIDVALIDITY
means the server renumbered the mailbox: its unread mail is read again, and the Message-IDs
keep that from making duplicates. The
network part (stdlib imaplib) runs on a worker thread; each mail is stored in its own
transaction, and the position moves on only once it is.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from sodam.channels.models import Inbox
from sodam.db.session import session_scope
from sodam.mail import inbound
from sodam.mail.models import MailInbox
from sodam.mail.parse import parse_mail

log = logging.getLogger(__name__)
BATCH = 50
TIMEOUT_S = 30


@dataclass
class Mailbox:
    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str


def fetch_new(
    box: Mailbox, *, uidvalidity: int | None, after_uid: int, limit: int = BATCH
) -> tuple[int, list[tuple[int, bytes]]]:
    """(the mailbox's UIDVALIDITY, up to `limit` mails after `after_uid` as (uid, bytes)), oldest first."""
    if box.security == "tls":
        client = imaplib.IMAP4_SSL(
            box.host, box.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_S
        )
    else:
        client = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT_S)
        if box.security == "starttls":
            client.starttls(ssl.create_default_context())
    try:
        client.login(box.username, box.password)
        status, _ = client.select(_quote(box.folder), readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {box.folder!r}")
        validity = int((client.response("UIDVALIDITY")[1] or [b"0"])[0] or 0)
        if validity == uidvalidity:
            start = after_uid + 1
            status, data = client.uid("SEARCH", None, f"UID {start}:*")
        else:
            # The first read (or a renumbered mailbox): the unread mail, not years of history.
            start = 1
            status, data = client.uid("SEARCH", None, "UNSEEN")
        uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) >= start)[:limit]
        mails = []
        for uid in uids:
            status, parts = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
            if status == "OK" and raw:
                mails.append((uid, raw))
        return validity, mails
    finally:
        try:
            client.logout()
        except Exception:  # noqa: S110 - the connection is going away anyway
            pass


def _quote(folder: str) -> str:
    return '"' + re.sub(r'(["\\\\])', r"\\\1", folder) + '"'


async def poll_inbox(inbox_id: int) -> int:
    """Read an inbox's mailbox once; returns how many mails were stored."""
    async with session_scope() as session:
        config = await session.get(MailInbox, inbox_id)
        if config is None or not config.imap_host:
            return 0
        box = Mailbox(
            host=config.imap_host,
            port=config.imap_port,
            security=config.imap_security,
            username=config.imap_username or config.address,
            password=config.imap_password or "",
            folder=config.imap_folder or "INBOX",
        )
        validity, after = config.imap_uidvalidity, config.imap_last_uid if config.imap_uidvalidity else 0
    try:
        validity_now, mails = await asyncio.to_thread(fetch_new, box, uidvalidity=validity, after_uid=after)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        async with session_scope() as session:
            config = await session.get(MailInbox, inbox_id)
            config.imap_error = f"{type(exc).__name__}: {exc}"[:300]
            config.imap_checked_at = datetime.now(UTC)
        log.warning("IMAP poll of inbox %s failed: %s", inbox_id, exc)
        return 0
    stored = 0
    for uid, raw in mails:
        mail = await asyncio.to_thread(parse_mail, raw)
        async with session_scope() as session:
            config = await session.get(MailInbox, inbox_id, with_for_update=True)
            inbox = await session.get(Inbox, inbox_id)
            _message, created = await inbound.receive(session, config=config, inbox=inbox, mail=mail)
            config.imap_uidvalidity, config.imap_last_uid = validity_now, uid
            stored += int(created)
    async with session_scope() as session:
        config = await session.get(MailInbox, inbox_id)
        if config is not None:
            config.imap_uidvalidity = validity_now
            config.imap_checked_at, config.imap_error = datetime.now(UTC), None
    return stored
