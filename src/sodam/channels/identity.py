"""Identity verification: the host site says which logged-in member is chatting.

`Sodam("boot", {memberId, name, email, phone, attributes, hash})` where
hash = hex HMAC-SHA256(key = the inbox's identity secret, message = memberId), computed on
the site's server (the secret never reaches a browser). A verified member is one contact
per workspace whatever the device or browser, so two devices share one history. An
unverified or wrong hash never joins an existing contact: the visitor stays (or becomes)
an anonymous contact of their own, and what they claim is kept on it, never used to merge.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.contacts import service as contacts

MEMBER_CHANNEL = "member"
MAX_ATTRIBUTES = 50


def new_secret() -> str:
    return secrets.token_hex(32)


def member_hash(secret: str, member_id: str) -> str:
    """What the host site's server computes (documented in docs/widget.md)."""
    return hmac.new(secret.encode(), member_id.encode(), hashlib.sha256).hexdigest()


def verified(inbox: Inbox, member_id: str | None, given_hash: str | None) -> bool:
    """Constant-time check of the member's hash against the inbox's secret."""
    if not inbox.identity_secret or not member_id or not given_hash:
        return False
    expected = member_hash(inbox.identity_secret, member_id)
    return hmac.compare_digest(expected.encode(), given_hash.strip().lower().encode())


async def rotate_secret(session: AsyncSession, inbox: Inbox) -> str:
    """A new secret (the old one stops verifying at once)."""
    inbox.identity_secret = new_secret()
    await session.flush()
    return inbox.identity_secret


async def remove_secret(session: AsyncSession, inbox: Inbox) -> None:
    inbox.identity_secret = None
    await session.flush()


def clean_attributes(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Scalar attributes only, short keys and values (they are shown to agents as text)."""
    out: dict[str, Any] = {}
    for key, value in list((raw or {}).items())[:MAX_ATTRIBUTES]:
        if not isinstance(key, str) or not key.strip() or len(key) > 60:
            continue
        if isinstance(value, bool | int | float) or value is None:
            out[key.strip()] = value
        elif isinstance(value, str):
            out[key.strip()] = value[:500]
    return out


async def is_member_contact(session: AsyncSession, *, workspace_id: int, contact_id: int) -> str | None:
    """The member id of a verified contact, None for an anonymous one."""
    for identity in await contacts.identities(session, workspace_id=workspace_id, contact_id=contact_id):
        if identity.channel_type == MEMBER_CHANNEL:
            return identity.external_id
    return None


async def member_contact(session: AsyncSession, *, inbox: Inbox, member_id: str, fields: dict[str, Any]):
    """The verified member's one contact in this workspace (created at the first boot);
    the site's word about name, e-mail, phone and attributes is trusted and kept.

    A member seen for the first time lands on the contact that already has their e-mail (a
    mail they wrote, an import, the API) or phone — one contact per address and number —
    unless that contact is another member's: then the address stays a claim on this one."""
    email = (fields.get("email") or "").strip().lower()
    phone = (fields.get("phone") or "").strip()
    known = await contacts.by_identity(
        session, workspace_id=inbox.workspace_id, channel_type=MEMBER_CHANNEL, external_id=member_id
    )
    if known is None and (email or phone):
        await contacts.lock_keys(session, workspace_id=inbox.workspace_id, email=email, phone=phone)
        owner = await contacts.find_existing(
            session, workspace_id=inbox.workspace_id, email=email, phone=phone
        )
        if owner is not None and not await is_member_contact(
            session, workspace_id=inbox.workspace_id, contact_id=owner.id
        ):
            await contacts.add_identity(
                session,
                workspace_id=inbox.workspace_id,
                contact_id=owner.id,
                channel_type=MEMBER_CHANNEL,
                external_id=member_id,
            )
    contact = await contacts.get_or_create_by_identity(
        session,
        workspace_id=inbox.workspace_id,
        channel_type=MEMBER_CHANNEL,
        external_id=member_id,
        **{k: v for k, v in fields.items() if v and k != "custom_attributes"},
    )
    if email and "@" in email:
        # Mail from this verified address later lands on this contact.
        await contacts.add_identity(
            session,
            workspace_id=inbox.workspace_id,
            contact_id=contact.id,
            channel_type=contacts.EMAIL_CHANNEL,
            external_id=email[:320],
        )
    updates = {k: v for k, v in fields.items() if v and k != "custom_attributes"}
    updates["custom_attributes"] = {**(fields.get("custom_attributes") or {}), "member_id": member_id}
    await contacts.apply_claims(session, workspace_id=inbox.workspace_id, contact_id=contact.id, **updates)
    return contact


async def session_contact(
    session: AsyncSession, *, inbox: Inbox, member: Any, resumed_contact_id: int | None
) -> tuple[int | None, dict[str, Any], bool]:
    """Who a booted visitor is: (contact id or None for a new anonymous one, the fields to
    keep on an anonymous contact, verified).

    Verified: the member's contact, whatever token the browser held. Not verified: the
    resumed contact if it is anonymous, never a member's (a stolen or stale token with a
    wrong hash opens nothing), and the claims stay on the anonymous contact only.
    """
    fields = {
        "name": (member.name or "").strip()[:200] or None,
        "email": (member.email or "").strip()[:320] or None,
        "phone": (member.phone or "").strip()[:40] or None,
        "custom_attributes": clean_attributes(member.attributes),
    }
    if verified(inbox, member.member_id, member.hash):
        contact = await member_contact(session, inbox=inbox, member_id=member.member_id, fields=fields)
        return contact.id, {}, True
    if resumed_contact_id is not None and await is_member_contact(
        session, workspace_id=inbox.workspace_id, contact_id=resumed_contact_id
    ):
        resumed_contact_id = None
    claims = {k: v for k, v in fields.items() if v and k != "custom_attributes"}
    attributes = {**fields["custom_attributes"], "unverified_member_id": member.member_id[:200]}
    return resumed_contact_id, {**claims, "custom_attributes": attributes}, False
