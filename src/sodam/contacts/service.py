"""Contacts and identities. Services never commit: callers own the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts.models import Contact, ContactIdentity
from sodam.core.errors import NotFound

EDITABLE_FIELDS = ("name", "email", "phone", "company", "language", "custom_attributes")
# A contact's e-mail address as a channel identity (the e-mail channel's sender; a verified
# widget member's address): one contact per address and workspace, one timeline.
EMAIL_CHANNEL = "email"
MEMBER_CHANNEL = "member"


async def get(session: AsyncSession, *, workspace_id: int, contact_id: int) -> Contact:
    """Get a contact of this workspace."""
    contact = await session.scalar(
        select(Contact).where(Contact.workspace_id == workspace_id, Contact.id == contact_id)
    )
    if contact is None:
        raise NotFound("contact not found")
    return contact


async def create(session: AsyncSession, *, workspace_id: int, **fields: Any) -> Contact:
    """Create a contact."""
    values = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS and v is not None}
    values.setdefault("custom_attributes", {})
    contact = Contact(workspace_id=workspace_id, **values)
    session.add(contact)
    await session.flush()
    return contact


async def update(session: AsyncSession, *, workspace_id: int, contact_id: int, **fields: Any) -> Contact:
    """Update the given fields of a contact (custom attributes are merged)."""
    contact = await get(session, workspace_id=workspace_id, contact_id=contact_id)
    for key, value in fields.items():
        if key not in EDITABLE_FIELDS:
            continue
        if key == "custom_attributes" and value is not None:
            contact.custom_attributes = {**(contact.custom_attributes or {}), **value}
        else:
            setattr(contact, key, value)
    await session.flush()
    return contact


async def list_(
    session: AsyncSession,
    *,
    workspace_id: int,
    query: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Contact]:
    """Contacts of a workspace, newest first, optionally matching a search string."""
    stmt = select(Contact).where(Contact.workspace_id == workspace_id)
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(Contact.name.ilike(like), Contact.email.ilike(like), Contact.phone.ilike(like)))
    if after_id is not None:
        stmt = stmt.where(Contact.id < after_id)
    result = await session.scalars(stmt.order_by(Contact.id.desc()).limit(limit))
    return list(result)


async def get_or_create_by_identity(
    session: AsyncSession, *, workspace_id: int, channel_type: str, external_id: str, **fields: Any
) -> Contact:
    """The contact owning this channel identity, created (with the identity) if new."""
    identity = await session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.workspace_id == workspace_id,
            ContactIdentity.channel_type == channel_type,
            ContactIdentity.external_id == external_id,
        )
    )
    if identity is not None:
        return await get(session, workspace_id=workspace_id, contact_id=identity.contact_id)
    contact = await create(session, workspace_id=workspace_id, **fields)
    session.add(
        ContactIdentity(
            workspace_id=workspace_id,
            contact_id=contact.id,
            channel_type=channel_type,
            external_id=external_id,
        )
    )
    await session.flush()
    return contact


async def identities(session: AsyncSession, *, workspace_id: int, contact_id: int) -> list[ContactIdentity]:
    """Channel identities of a contact."""
    result = await session.scalars(
        select(ContactIdentity).where(
            ContactIdentity.workspace_id == workspace_id, ContactIdentity.contact_id == contact_id
        )
    )
    return list(result)


async def get_many(session: AsyncSession, *, workspace_id: int, ids: list[int]) -> dict[int, Contact]:
    """Contacts of this workspace by id (for lists that show names)."""
    if not ids:
        return {}
    result = await session.scalars(
        select(Contact).where(Contact.workspace_id == workspace_id, Contact.id.in_(set(ids)))
    )
    return {c.id: c for c in result}


async def anonymise(session: AsyncSession, *, workspace_id: int, contact_id: int) -> tuple[Contact, int]:
    """Blank a contact's personal fields and remove its channel identities (erasure on request);
    the row stays so its conversations keep their shape. Returns (contact, identities removed)."""
    contact = await get(session, workspace_id=workspace_id, contact_id=contact_id)
    contact.name = contact.email = contact.phone = contact.company = None
    contact.custom_attributes = {}
    removed = await session.execute(
        delete(ContactIdentity).where(
            ContactIdentity.workspace_id == workspace_id, ContactIdentity.contact_id == contact_id
        )
    )
    await session.flush()
    return contact, removed.rowcount or 0


async def by_identity(
    session: AsyncSession, *, workspace_id: int, channel_type: str, external_id: str
) -> ContactIdentity | None:
    """The identity of this channel and external id, if some contact has it."""
    return await session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.workspace_id == workspace_id,
            ContactIdentity.channel_type == channel_type,
            ContactIdentity.external_id == external_id,
        )
    )


async def add_identity(
    session: AsyncSession, *, workspace_id: int, contact_id: int, channel_type: str, external_id: str
) -> bool:
    """Give a contact this identity unless some contact already has it; returns whether added."""
    if await by_identity(
        session, workspace_id=workspace_id, channel_type=channel_type, external_id=external_id
    ):
        return False
    session.add(
        ContactIdentity(
            workspace_id=workspace_id,
            contact_id=contact_id,
            channel_type=channel_type,
            external_id=external_id,
        )
    )
    await session.flush()
    return True


async def _lock_address(session: AsyncSession, *, workspace_id: int, address: str) -> None:
    # Two mails (or a mail and a widget boot) from a new address at once make one contact.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"contact-email:{workspace_id}:{address}"}
    )


async def contact_for_email(
    session: AsyncSession, *, workspace_id: int, address: str, name: str | None = None
) -> Contact:
    """The one contact of an e-mail address: the owner of its e-mail identity, else the verified
    widget member with this address (so both channels share a timeline), else a new contact."""
    address = address.strip().lower()
    await _lock_address(session, workspace_id=workspace_id, address=address)
    identity = await by_identity(
        session, workspace_id=workspace_id, channel_type=EMAIL_CHANNEL, external_id=address
    )
    if identity is not None:
        return await get(session, workspace_id=workspace_id, contact_id=identity.contact_id)
    member = await session.scalar(
        select(Contact)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(
            Contact.workspace_id == workspace_id,
            ContactIdentity.workspace_id == workspace_id,
            ContactIdentity.channel_type == MEMBER_CHANNEL,
            func.lower(Contact.email) == address,
        )
        .order_by(Contact.id)
        .limit(1)
    )
    contact = member or await create(session, workspace_id=workspace_id, name=name or None, email=address)
    await add_identity(
        session,
        workspace_id=workspace_id,
        contact_id=contact.id,
        channel_type=EMAIL_CHANNEL,
        external_id=address,
    )
    return contact


async def verified_email_owner(session: AsyncSession, *, workspace_id: int, address: str) -> int | None:
    """The contact that wrote from this address before any widget member claimed it (no member
    identity yet), so a verified member with this address joins that contact's timeline."""
    address = address.strip().lower()
    await _lock_address(session, workspace_id=workspace_id, address=address)
    identity = await by_identity(
        session, workspace_id=workspace_id, channel_type=EMAIL_CHANNEL, external_id=address
    )
    if identity is None:
        return None
    for other in await identities(session, workspace_id=workspace_id, contact_id=identity.contact_id):
        if other.channel_type == MEMBER_CHANNEL:
            return None
    return identity.contact_id
