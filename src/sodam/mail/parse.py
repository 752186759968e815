"""One received mail, read with the standard library (`email`, policy.default).

Pure and synchronous (CPU work): callers run it on a worker thread. Nothing here trusts
the mail: headers are clipped, the HTML is sanitised, attachments are handed to the
attachment store, which applies the workspace's size and type policy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr

from sodam.mail.quotes import split_quote
from sodam.mail.sanitise import html_to_text, sanitise_html

MAX_ATTACHMENTS = 10
MAX_TEXT_CHARS = 9_000
_ID = re.compile(r"<([^<>\s]{1,900})>")


@dataclass
class MailFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    recipients: list[str]
    text: str
    quote: str
    html: str | None
    files: list[MailFile] = field(default_factory=list)
    # Why no one may answer it (auto_submitted, precedence, autoreply, list, bounce,
    # null_sender, ours), or None for a person's mail.
    robot: str | None = None
    # A delivery report: the Message-IDs it reports on and its diagnostic.
    bounced_ids: list[str] = field(default_factory=list)
    bounce_reason: str | None = None
    date: str | None = None

    def thread_ids(self) -> list[str]:
        """The Message-IDs this mail answers, nearest first."""
        seen = dict.fromkeys([*self.in_reply_to, *reversed(self.references), *self.bounced_ids])
        return [i for i in seen if i != self.message_id]


def ids_in(value: str | None) -> list[str]:
    """The <ids> of a Message-ID / In-Reply-To / References header, in order."""
    return _ID.findall(str(value or ""))[:100]


def client_id_for(message_id: str) -> str:
    """The message path's idempotency key of a mail (a redelivery is the same message)."""
    return "mail:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()[:48]


def _header(msg: EmailMessage, name: str, limit: int = 998) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header must not lose the mail
        value = msg.get_all(name, failobj=[None])[0] if hasattr(msg, "get_all") else None
    return re.sub(r"[\r\n\t]+", " ", str(value or "")).strip()[:limit]


def robot_reason(msg: EmailMessage, *, envelope_from: str | None = None) -> str | None:
    """Why this mail was sent by a machine (and must never be answered), or None."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return "auto_submitted"
    if msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients"):
        return "bounce"
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "null_sender"
    if _header(msg, "Precedence").lower() in ("bulk", "junk", "list"):
        return "precedence"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return "autoreply"
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "list"
    return None


def _bounce(msg: EmailMessage) -> tuple[list[str], str | None]:
    ids: list[str] = []
    reason = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if hasattr(inner, "get"):
                ids += ids_in(inner.get("Message-ID"))
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            raw = part.get_payload(decode=True) or b""
            ids += ids_in(BytesHeaderParser(policy=policy.compat32).parsebytes(raw).get("Message-ID"))
        elif ctype in ("message/delivery-status", "message/global-delivery-status"):
            text = "\n".join(str(p) for p in part.walk()) if part.is_multipart() else str(part.get_payload())
            found = re.search(r"Diagnostic-Code:\s*(.+)", text) or re.search(r"Status:\s*([245]\.\S+)", text)
            reason = found.group(1).strip()[:300] if found else reason
    return ids, reason


def _body(msg: EmailMessage) -> tuple[str, str | None]:
    """(plain text, sanitised HTML or None): the text/plain part preferred."""
    html = None
    try:
        html_part = msg.get_body(preferencelist=("html",))
        if html_part is not None:
            html = sanitise_html(html_part.get_content())
    except Exception:  # an undecodable part: the text part may still be fine
        html = None
    try:
        plain = msg.get_body(preferencelist=("plain",))
        if plain is not None:
            return str(plain.get_content()), html
    except Exception:  # noqa: S110 - fall back to the HTML part
        pass
    return (html_to_text(html) if html else ""), html


def _files(msg: EmailMessage) -> list[MailFile]:
    out = []
    for part in msg.iter_attachments() if msg.is_multipart() else []:
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        data = part.get_payload(decode=True) or b""
        out.append(MailFile(part.get_filename() or "attachment", part.get_content_type(), data))
    # Inline parts of a multipart/related or /alternative body with a file name (pictures).
    for part in msg.walk():
        if part.get_content_disposition() == "inline" and part.get_filename():
            data = part.get_payload(decode=True) or b""
            if not any(f.data == data for f in out):
                out.append(MailFile(part.get_filename(), part.get_content_type(), data))
    return out


def parse_mail(raw: bytes, *, envelope_from: str | None = None) -> ParsedMail:
    """Read a mail as it arrived (the bytes of DATA)."""
    msg = message_from_bytes(raw, policy=policy.default)
    message_ids = ids_in(msg.get("Message-ID"))
    message_id = message_ids[0] if message_ids else "sodam-" + hashlib.sha256(raw).hexdigest()[:40] + "@no-id"
    name, address = parseaddr(_header(msg, "From"))
    recipients = [a.lower() for _n, a in getaddresses([_header(msg, "To"), _header(msg, "Cc")]) if "@" in a]
    robot = robot_reason(msg, envelope_from=envelope_from)
    bounced, reason = _bounce(msg) if robot == "bounce" else ([], None)
    text, html = _body(msg)
    new, quote = split_quote(text)
    return ParsedMail(
        message_id=message_id,
        in_reply_to=ids_in(msg.get("In-Reply-To")),
        references=ids_in(msg.get("References")),
        subject=_header(msg, "Subject", 300),
        from_address=address.strip().lower()[:320],
        from_name=name.strip()[:200],
        recipients=recipients,
        text=new[:MAX_TEXT_CHARS],
        quote=quote[:MAX_TEXT_CHARS],
        html=html,
        files=[] if robot == "bounce" else _files(msg)[:MAX_ATTACHMENTS],
        robot=robot,
        bounced_ids=bounced,
        bounce_reason=reason,
        date=_header(msg, "Date", 100) or None,
    )


def normalise_subject(subject: str) -> str:
    """ "Re: RE: Fwd: [문의] 배송" -> "[문의] 배송" (for matching and for "Re: …")."""
    return re.sub(r"^\s*((re|fwd?|aw|답장|회신|전달)\s*(\[\d+\])?\s*:\s*)+", "", subject, flags=re.I).strip()
