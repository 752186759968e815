"""Attachments: accept an upload (size and type checked against the workspace's policy,
type sniffed from the bytes), store it, hand it back to those allowed to read it.

Services never commit: callers own the transaction.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts.models import Workspace
from sodam.attachments import sniff
from sodam.attachments.models import Attachment
from sodam.attachments.storage import current_store, store_named
from sodam.config import get_settings
from sodam.core.errors import AppError, Invalid, NotFound, TooLarge

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_PER_MESSAGE = 10
# Room for the multipart envelope around the file when judging a Content-Length.
MULTIPART_SLACK = 16 * 1024


class UnsupportedType(AppError):
    status_code = 415
    code = "attachment_type_not_allowed"


@dataclass(frozen=True)
class Policy:
    max_bytes: int
    allowed: tuple[str, ...]

    def wire(self) -> dict[str, Any]:
        return {"max_bytes": self.max_bytes, "allowed": list(self.allowed), "families": list(sniff.FAMILIES)}


def policy_from(raw: dict | None, *, ceiling: int) -> Policy:
    raw = raw or {}
    max_bytes = raw.get("max_bytes")
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        max_bytes = DEFAULT_MAX_BYTES
    allowed = raw.get("allowed")
    if not isinstance(allowed, list):
        allowed = list(sniff.FAMILIES)
    return Policy(max_bytes=min(max_bytes, ceiling), allowed=tuple(f for f in sniff.FAMILIES if f in allowed))


async def policy(session: AsyncSession, *, workspace_id: int) -> Policy:
    """The workspace's size limit and allowed families (defaults: 20 MB, every family)."""
    raw = await session.scalar(select(Workspace.attachment_policy).where(Workspace.id == workspace_id))
    return policy_from(raw, ceiling=get_settings().max_upload_bytes)


async def set_policy(
    session: AsyncSession, *, workspace_id: int, max_bytes: int, allowed: list[str]
) -> Policy:
    """Change the workspace's limit (bytes, up to SODAM_MAX_UPLOAD_BYTES) and allowed families."""
    ceiling = get_settings().max_upload_bytes
    if not 1024 <= max_bytes <= ceiling:
        raise Invalid(
            f"max_bytes must be between 1024 and {ceiling}",
            code="invalid_max_bytes",
            details={"min": 1024, "max": ceiling},
        )
    unknown = [f for f in allowed if f not in sniff.FAMILIES]
    if unknown:
        raise Invalid("unknown file family", code="invalid_family", details={"unknown": unknown})
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    workspace.attachment_policy = {
        "max_bytes": max_bytes,
        "allowed": [f for f in sniff.FAMILIES if f in allowed],
    }
    await session.flush()
    return policy_from(workspace.attachment_policy, ceiling=ceiling)


def too_large(size: int | None, rules: Policy) -> TooLarge:
    return TooLarge(
        f"the file is larger than this workspace's limit of {rules.max_bytes} bytes",
        code="attachment_too_large",
        details={"max_bytes": rules.max_bytes, "size": size},
    )


def check_declared_length(content_length: str | None, rules: Policy) -> None:
    """Refuse at once (before reading the body) an upload announced as too large."""
    if (
        content_length
        and content_length.isdigit()
        and int(content_length) > rules.max_bytes + MULTIPART_SLACK
    ):
        raise too_large(int(content_length), rules)


def check_type(head: bytes, filename: str, rules: Policy) -> sniff.FileType:
    try:
        found = sniff.detect(head, filename)
    except sniff.Refused as exc:
        if exc.code == "blocked_type":
            raise UnsupportedType(
                "this kind of file (programs, scripts, web pages) cannot be sent",
                code="attachment_type_blocked",
                details={"extension": sniff.extension(filename) or None, "allowed": list(rules.allowed)},
            ) from exc
        raise UnsupportedType(
            "this type of file is not accepted",
            details={"extension": sniff.extension(filename) or None, "allowed": list(rules.allowed)},
        ) from exc
    if found.family not in rules.allowed:
        raise UnsupportedType(
            f"{found.family} are not accepted in this workspace",
            details={
                "extension": sniff.extension(filename) or None,
                "family": found.family,
                "allowed": list(rules.allowed),
            },
        )
    return found


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    rules: Policy,
    filename: str | None,
    data: bytes,
    uploader_type: str,
    uploader_id: int | None,
    inbox_id: int | None = None,
    contact_id: int | None = None,
    conversation_id: int | None = None,
    purpose: str = "message",
) -> Attachment:
    """Check and store one file; the row is added to the caller's transaction."""
    if len(data) > rules.max_bytes:
        raise too_large(len(data), rules)
    if not data:
        raise Invalid("the file is empty", code="attachment_empty")
    name = sniff.safe_filename(filename)
    found = check_type(data[:8192], name, rules)
    if purpose == "avatar" and not found.inline:
        raise UnsupportedType(
            "an avatar must be a PNG, JPEG, GIF or WebP image",
            details={"allowed": ["png", "jpeg", "gif", "webp"]},
        )
    public_id = secrets.token_urlsafe(18)
    store = current_store()
    key = f"{workspace_id}/{public_id[:2]}/{public_id}"
    await store.put(key, data)
    attachment = Attachment(
        workspace_id=workspace_id,
        public_id=public_id,
        purpose=purpose,
        inbox_id=inbox_id,
        contact_id=contact_id,
        conversation_id=conversation_id,
        uploader_type=uploader_type,
        uploader_id=uploader_id,
        filename=name,
        content_type=found.content_type,
        kind="image" if found.inline else "file",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        store=store.name,
        storage_key=key,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def get(session: AsyncSession, *, workspace_id: int, public_id: str) -> Attachment:
    """An attachment of this workspace by its public id."""
    found = await session.scalar(
        select(Attachment).where(Attachment.workspace_id == workspace_id, Attachment.public_id == public_id)
    )
    if found is None:
        raise NotFound("attachment not found", code="attachment_not_found")
    return found


async def read(attachment: Attachment) -> bytes:
    """The stored bytes."""
    try:
        return await store_named(attachment.store).get(attachment.storage_key)
    except (FileNotFoundError, OSError) as exc:
        raise NotFound("the file is no longer stored", code="attachment_missing") from exc


def inline_allowed(attachment: Attachment) -> bool:
    """Only simple raster images are shown in the page; everything else is a download."""
    return attachment.content_type in ("image/png", "image/jpeg", "image/gif", "image/webp")


async def for_message(
    session: AsyncSession,
    *,
    workspace_id: int,
    public_ids: list[str],
    uploader_type: str,
    uploader_id: int | None,
    conversation_id: int | None = None,
    inbox_id: int | None = None,
) -> list[Attachment]:
    """The uploader's own attachments for a message, in the given order, locked until commit."""
    if not isinstance(public_ids, list) or not all(isinstance(p, str) and p for p in public_ids):
        raise Invalid("attachments must be a list of attachment ids", code="invalid_attachments")
    wanted = list(dict.fromkeys(public_ids))
    if len(wanted) > MAX_PER_MESSAGE:
        raise Invalid(
            f"at most {MAX_PER_MESSAGE} attachments per message",
            code="too_many_attachments",
            details={"max": MAX_PER_MESSAGE},
        )
    rows = (
        await session.scalars(
            select(Attachment)
            .where(
                Attachment.workspace_id == workspace_id,
                Attachment.public_id.in_(wanted),
                Attachment.purpose == "message",
                Attachment.uploader_type == uploader_type,
                Attachment.uploader_id == uploader_id,
            )
            .with_for_update()
        )
    ).all()
    by_id = {
        a.public_id: a
        for a in rows
        if (conversation_id is None or a.conversation_id in (None, conversation_id))
        and (inbox_id is None or a.inbox_id == inbox_id)
    }
    missing = [p for p in wanted if p not in by_id]
    if missing:
        raise NotFound("attachment not found", code="attachment_not_found", details={"missing": missing})
    return [by_id[p] for p in wanted]


def link(attachments: list[Attachment], *, message_id: int, conversation_id: int) -> None:
    """Tie the attachments to their (just stored) message."""
    for a in attachments:
        a.message_id = message_id
        a.conversation_id = conversation_id


async def erase(
    session: AsyncSession,
    *,
    workspace_id: int,
    conversation_ids: list[int] | None = None,
    contact_id: int | None = None,
) -> int:
    """Delete the files of these conversations and/or this contact (erasure, retention):
    the rows in the caller's transaction, the bytes at once (best effort: a file already
    gone is fine). Returns how many."""
    conditions = []
    if conversation_ids:
        conditions.append(Attachment.conversation_id.in_(conversation_ids))
    if contact_id is not None:
        conditions.append(Attachment.contact_id == contact_id)
    if not conditions:
        return 0
    rows = (
        await session.execute(
            delete(Attachment)
            .where(Attachment.workspace_id == workspace_id, Attachment.purpose == "message", or_(*conditions))
            .returning(Attachment.store, Attachment.storage_key)
        )
    ).all()
    for store, key in rows:
        try:
            await store_named(store).delete(key)
        except Exception:  # noqa: BLE001 - the row is gone; a stray file is not worth failing erasure
            log.warning("could not delete the stored file %s (%s)", key, store, exc_info=True)
    return len(rows)
