"""Contacts and identities. Services never commit: callers own the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy import update as update_
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.companies import service as companies
from sodam.contacts import attributes, phones
from sodam.contacts.models import Contact, ContactIdentity
from sodam.core.errors import Conflict, NotFound

EDITABLE_FIELDS = ("name", "email", "phone", "company", "language", "custom_attributes", "company_id")
# A contact's e-mail address as a channel identity (the e-mail channel's sender; a verified
# widget member's address): one contact per address and workspace, one timeline.
EMAIL_CHANNEL = "email"
MEMBER_CHANNEL = "member"
# Where a customer's unverified claim to an address or number another contact holds is kept
# (shown to agents, never used to join that contact: only an agent's merge does).
CLAIMED = {"email": "claimed_email", "phone": "claimed_phone"}


class ContactExists(Conflict):
    """Another contact of the workspace has this e-mail or phone (409, its id in details)."""

    code = "contact_exists"


async def get(session: AsyncSession, *, workspace_id: int, contact_id: int) -> Contact:
    """Get a contact of this workspace."""
    contact = await session.scalar(
        select(Contact).where(Contact.workspace_id == workspace_id, Contact.id == contact_id)
    )
    if contact is None:
        raise NotFound("contact not found")
    return contact


async def find_by_email(session: AsyncSession, *, workspace_id: int, email: str | None) -> Contact | None:
    """The contact with this e-mail address (case-insensitive)."""
    if not email or not email.strip():
        return None
    return await session.scalar(
        select(Contact).where(
            Contact.workspace_id == workspace_id, func.lower(Contact.email) == email.strip().lower()
        )
    )


async def find_by_phone(session: AsyncSession, *, workspace_id: int, phone: str | None) -> Contact | None:
    """The contact with this phone number, however it is written (E.164, KR by default)."""
    normalised = phones.normalise(phone)
    if normalised is None:
        return None
    return await session.scalar(
        select(Contact).where(Contact.workspace_id == workspace_id, Contact.phone_normalized == normalised)
    )


async def find_existing(
    session: AsyncSession, *, workspace_id: int, email: str | None = None, phone: str | None = None
) -> Contact | None:
    """The contact this e-mail, else this phone, already belongs to."""
    return await find_by_email(session, workspace_id=workspace_id, email=email) or await find_by_phone(
        session, workspace_id=workspace_id, phone=phone
    )


async def lock_keys(
    session: AsyncSession, *, workspace_id: int, email: str | None = None, phone: str | None = None
) -> None:
    """Serialise writers of the same e-mail or phone (a transaction-scoped advisory lock), so
    two identifies at once make one contact rather than a unique-index error."""
    keys = []
    if email and email.strip():
        keys.append(f"contact-email:{workspace_id}:{email.strip().lower()}")
    normalised = phones.normalise(phone)
    if normalised:
        keys.append(f"contact-phone:{workspace_id}:{normalised}")
    for key in sorted(keys):  # one order everywhere: no deadlock between two writers
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


async def _taken(
    session: AsyncSession, *, workspace_id: int, field: str, value: str | None, contact_id: int | None
) -> Contact | None:
    finder = find_by_email if field == "email" else find_by_phone
    other = await finder(session, workspace_id=workspace_id, **{field: value})
    return other if other is not None and other.id != contact_id else None


async def _check_unique(
    session: AsyncSession, *, workspace_id: int, values: dict[str, Any], contact_id: int | None
) -> None:
    await lock_keys(session, workspace_id=workspace_id, email=values.get("email"), phone=values.get("phone"))
    for field in ("email", "phone"):
        other = await _taken(
            session, workspace_id=workspace_id, field=field, value=values.get(field), contact_id=contact_id
        )
        if other is not None:
            raise ContactExists(
                f"another contact has this {'e-mail' if field == 'email' else 'phone number'}",
                details={"contact_id": other.id, "field": field},
            )


async def _company_fields(session: AsyncSession, *, workspace_id: int, values: dict[str, Any]) -> None:
    """Resolve `company_id` / `company` (a name) / `company_domain` into the linked company,
    creating it by name or domain if new; the name is mirrored into `company`."""
    domain = values.pop("company_domain", None)
    if "company_id" in values and values["company_id"] is not None:
        company = await companies.get(session, workspace_id=workspace_id, company_id=values["company_id"])
    elif "company" in values or domain:
        company = await companies.find_or_create(
            session, workspace_id=workspace_id, name=values.get("company"), domain=domain
        )
    elif "company_id" in values:  # explicitly null
        company = None
    else:
        return
    values["company_id"] = company.id if company else None
    values["company"] = company.name if company else None


def _prepare(values: dict[str, Any]) -> None:
    if "email" in values and values["email"] is not None:
        values["email"] = values["email"].strip() or None
    if "phone" in values:
        values["phone"] = (values["phone"] or "").strip() or None
        values["phone_normalized"] = phones.normalise(values["phone"])


async def create(
    session: AsyncSession, *, workspace_id: int, lenient_attributes: bool = False, **fields: Any
) -> Contact:
    """Create a contact (409 contact_exists when its e-mail or phone belongs to another;
    422 invalid_attribute for a value that does not fit its attribute's type)."""
    values = {k: v for k, v in fields.items() if k in (*EDITABLE_FIELDS, "company_domain") and v is not None}
    _prepare(values)
    await _check_unique(session, workspace_id=workspace_id, values=values, contact_id=None)
    await _company_fields(session, workspace_id=workspace_id, values=values)
    values["custom_attributes"] = await _attributes(
        session, workspace_id=workspace_id, values=values.get("custom_attributes"), lenient=lenient_attributes
    )
    contact = Contact(workspace_id=workspace_id, **values)
    session.add(contact)
    await session.flush()
    return contact


async def _attributes(
    session: AsyncSession, *, workspace_id: int, values: dict[str, Any] | None, lenient: bool
) -> dict[str, Any]:
    """Values checked against the definitions; lenient (what a customer's browser sent) drops
    a value that does not fit rather than failing the customer's request."""
    if not values:
        return {}
    definitions = await attributes.definitions(session, workspace_id=workspace_id)
    if not lenient:
        return attributes.check_values(definitions, values)
    kept = {}
    for key, value in values.items():
        try:
            kept[key] = attributes.check_values(definitions, {key: value})[key]
        except attributes.AttributeInvalid:
            continue
    return kept


async def update(
    session: AsyncSession,
    *,
    workspace_id: int,
    contact_id: int,
    lenient_attributes: bool = False,
    **fields: Any,
) -> Contact:
    """Update the given fields of a contact (custom attributes are merged key by key)."""
    contact = await get(session, workspace_id=workspace_id, contact_id=contact_id)
    values = {k: v for k, v in fields.items() if k in (*EDITABLE_FIELDS, "company_domain")}
    _prepare(values)
    await _check_unique(session, workspace_id=workspace_id, values=values, contact_id=contact.id)
    await _company_fields(session, workspace_id=workspace_id, values=values)
    for key, value in values.items():
        if key == "custom_attributes":
            if value:
                checked = await _attributes(
                    session, workspace_id=workspace_id, values=value, lenient=lenient_attributes
                )
                contact.custom_attributes = {**(contact.custom_attributes or {}), **checked}
        else:
            setattr(contact, key, value)
    await session.flush()
    return contact


async def apply_claims(
    session: AsyncSession, *, workspace_id: int, contact_id: int, **fields: Any
) -> Contact:
    """What a customer said about themselves (a widget form, the bot's questions): an e-mail
    or phone another contact holds is kept as `claimed_email` / `claimed_phone` instead of
    joining or failing; attribute values that do not fit their type are dropped."""
    values = dict(fields)
    claimed: dict[str, Any] = {}
    await lock_keys(session, workspace_id=workspace_id, email=values.get("email"), phone=values.get("phone"))
    for field in ("email", "phone"):
        if values.get(field) and await _taken(
            session, workspace_id=workspace_id, field=field, value=values[field], contact_id=contact_id
        ):
            claimed[CLAIMED[field]] = str(values.pop(field))[:320]
    if claimed:
        values["custom_attributes"] = {**(values.get("custom_attributes") or {}), **claimed}
    return await update(
        session, workspace_id=workspace_id, contact_id=contact_id, lenient_attributes=True, **values
    )


async def rename_company(session: AsyncSession, *, workspace_id: int, company_id: int, name: str) -> None:
    """Keep the mirrored name of a renamed company's contacts."""
    await session.execute(
        update_(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.company_id == company_id)
        .values(company=name)
    )


async def clear_company(session: AsyncSession, *, workspace_id: int, company_id: int) -> None:
    """A company is being deleted: its contacts keep living without one."""
    await session.execute(
        update_(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.company_id == company_id)
        .values(company=None, company_id=None)
    )


async def counts_by_company(
    session: AsyncSession, *, workspace_id: int, company_ids: list[int]
) -> dict[int, int]:
    """How many contacts each company has."""
    if not company_ids:
        return {}
    rows = await session.execute(
        select(Contact.company_id, func.count())
        .where(Contact.workspace_id == workspace_id, Contact.company_id.in_(company_ids))
        .group_by(Contact.company_id)
    )
    return {company_id: count for company_id, count in rows}


async def of_company(
    session: AsyncSession, *, workspace_id: int, company_id: int, after_id: int | None = None, limit: int = 50
) -> list[Contact]:
    """The contacts of a company, newest first."""
    stmt = select(Contact).where(Contact.workspace_id == workspace_id, Contact.company_id == company_id)
    if after_id is not None:
        stmt = stmt.where(Contact.id < after_id)
    return list(await session.scalars(stmt.order_by(Contact.id.desc()).limit(limit)))


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
    session: AsyncSession,
    *,
    workspace_id: int,
    channel_type: str,
    external_id: str,
    match_existing: bool = False,
    **fields: Any,
) -> Contact:
    """The contact owning this channel identity, created (with the identity) if new.

    match_existing (the caller vouches for the e-mail and phone: a verified member, the
    company's own server on the API channel): a new identity whose e-mail or phone belongs
    to a contact joins that contact. Otherwise an address or number another contact holds
    is kept as a claim on the new contact (see apply_claims), never used to join it."""
    identity = await by_identity(
        session, workspace_id=workspace_id, channel_type=channel_type, external_id=external_id
    )
    if identity is not None:
        return await get(session, workspace_id=workspace_id, contact_id=identity.contact_id)
    email, phone = fields.get("email"), fields.get("phone")
    await lock_keys(session, workspace_id=workspace_id, email=email, phone=phone)
    existing = (
        await find_existing(session, workspace_id=workspace_id, email=email, phone=phone)
        if match_existing
        else None
    )
    if existing is not None:
        contact = existing
        missing = {k: v for k, v in fields.items() if k in ("name", "email", "phone", "language") and v}
        missing = {k: v for k, v in missing.items() if not getattr(contact, k)}
        if missing:
            await apply_claims(session, workspace_id=workspace_id, contact_id=contact.id, **missing)
    else:
        claims = {k: fields.pop(k) for k in ("email", "phone") if fields.get(k)}
        contact = await create(session, workspace_id=workspace_id, lenient_attributes=True, **fields)
        if claims:
            await apply_claims(session, workspace_id=workspace_id, contact_id=contact.id, **claims)
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
    contact.phone_normalized = contact.company_id = None
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
    """The one contact of an e-mail address: the owner of its e-mail identity, else the contact
    with this address (so every channel shares a timeline), else a new contact."""
    address = address.strip().lower()
    await _lock_address(session, workspace_id=workspace_id, address=address)
    identity = await by_identity(
        session, workspace_id=workspace_id, channel_type=EMAIL_CHANNEL, external_id=address
    )
    if identity is not None:
        return await get(session, workspace_id=workspace_id, contact_id=identity.contact_id)
    # One contact per address: whoever has it (a verified member, an imported or API-made
    # contact) gets the mail on their timeline.
    member = await find_by_email(session, workspace_id=workspace_id, email=address)
    contact = member or await create(session, workspace_id=workspace_id, name=name or None, email=address)
    await add_identity(
        session,
        workspace_id=workspace_id,
        contact_id=contact.id,
        channel_type=EMAIL_CHANNEL,
        external_id=address,
    )
    return contact
