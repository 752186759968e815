"""Privacy flows: export and erase one contact's data, retention, what the privacy page shows.
Services never commit: callers own the transaction (retention commits per batch in its job)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.attachments import service as attachments
from sodam.audit import service as audit
from sodam.bot import privacy as bot_privacy
from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.contacts import visits
from sodam.conversations import privacy as conversations
from sodam.core.errors import Invalid
from sodam.core.i18n import gettext
from sodam.privacy.models import RETENTION_ACTIONS, PrivacySettings
from sodam.surveys import privacy as surveys_privacy

EXPORT_FORMAT = "sodam.contact-export/1"
RETENTION_BATCH = 200
_UNSET: Any = object()


async def get_settings(session: AsyncSession, *, workspace_id: int) -> PrivacySettings:
    """The workspace's privacy settings (defaults, not stored, until an admin saves them)."""
    found = await session.get(PrivacySettings, workspace_id)
    return found or PrivacySettings(
        workspace_id=workspace_id, retention_months=None, retention_action="anonymise"
    )


async def update_settings(
    session: AsyncSession,
    *,
    workspace_id: int,
    retention_months: int | None = _UNSET,
    retention_action: str | None = None,
    contact_email: str | None = _UNSET,
) -> PrivacySettings:
    """Change retention (months, or None for off; delete or anonymise) and the requests address."""
    settings = await session.get(PrivacySettings, workspace_id)
    if settings is None:
        settings = PrivacySettings(workspace_id=workspace_id, retention_action="anonymise")
        session.add(settings)
    if retention_months is not _UNSET:
        if retention_months is not None and not 1 <= retention_months <= 120:
            raise Invalid("retention_months must be 1-120 or null", code="invalid_retention")
        settings.retention_months = retention_months
    if retention_action is not None:
        if retention_action not in RETENTION_ACTIONS:
            raise Invalid("retention_action must be anonymise or delete", code="invalid_retention")
        settings.retention_action = retention_action
    if contact_email is not _UNSET:
        settings.contact_email = (contact_email or "").strip()[:320] or None
    await session.flush()
    return settings


async def export_contact(
    session: AsyncSession, *, workspace_id: int, contact_id: int, include_notes: bool = False
) -> dict[str, Any]:
    """Everything stored about one contact in this workspace, as one JSON document."""
    contact = await contacts.get(session, workspace_id=workspace_id, contact_id=contact_id)
    workspace = await accounts.get_workspace(session, workspace_id=workspace_id)
    identities = await contacts.identities(session, workspace_id=workspace_id, contact_id=contact_id)
    inbox_names = {i.id: i.name for i in await inboxes.list_(session, workspace_id=workspace_id)}
    threads = await conversations.export_for_contact(
        session,
        workspace_id=workspace_id,
        contact_id=contact_id,
        include_notes=include_notes,
        inbox_names=inbox_names,
    )
    await audit.record(
        session,
        action="contact.exported",
        target_type="contact",
        target_id=contact_id,
        workspace_id=workspace_id,
        details={"conversations": len(threads), "include_notes": include_notes},
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "workspace": {"name": workspace.name, "slug": workspace.slug},
        "notes_included": include_notes,
        "contact": {
            "id": contact.id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "company": contact.company,
            "language": contact.language,
            "custom_attributes": contact.custom_attributes or {},
            "created_at": contact.created_at.isoformat(),
            "updated_at": contact.updated_at.isoformat() if contact.updated_at else None,
        },
        "identities": [
            {
                "channel_type": i.channel_type,
                "external_id": i.external_id,
                "created_at": i.created_at.isoformat(),
            }
            for i in identities
        ],
        "conversations": threads,
        "survey_answers": await surveys_privacy.export_for_contact(
            session, workspace_id=workspace_id, contact_id=contact_id
        ),
    }


async def erase_contact(session: AsyncSession, *, workspace_id: int, contact_id: int) -> dict[str, Any]:
    """Erase a contact on request: messages redacted in place, personal fields blanked,
    identities removed, the bot's copies cleared; the audit log keeps that it happened."""
    await contacts.get(session, workspace_id=workspace_id, contact_id=contact_id)  # 404 first
    workspace = await accounts.get_workspace(session, workspace_id=workspace_id)
    placeholder = gettext(workspace.default_locale, "privacy.redacted.erased")
    now = datetime.now(UTC)
    ids = await conversations.contact_conversation_ids(
        session, workspace_id=workspace_id, contact_id=contact_id
    )
    messages = await conversations.redact(
        session, workspace_id=workspace_id, conversation_ids=ids, placeholder=placeholder, now=now
    )
    await bot_privacy.forget_conversations(
        session, workspace_id=workspace_id, conversation_ids=ids, placeholder=placeholder
    )
    # Unsent uploads and the pages visited are theirs too.
    await attachments.erase(session, workspace_id=workspace_id, contact_id=contact_id)
    await visits.forget(session, workspace_id=workspace_id, contact_id=contact_id)
    await surveys_privacy.forget_contact(session, workspace_id=workspace_id, contact_id=contact_id)
    _contact, identities = await contacts.anonymise(session, workspace_id=workspace_id, contact_id=contact_id)
    result = {
        "contact_id": contact_id,
        "conversations": len(ids),
        "messages": messages,
        "identities": identities,
        "erased_at": now.isoformat(),
    }
    details = {k: v for k, v in result.items() if k in ("conversations", "messages", "identities")}
    await audit.record(
        session,
        action="contact.erased",
        target_type="contact",
        target_id=contact_id,
        workspace_id=workspace_id,
        details=details,
    )
    return result


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    days = [
        31,
        29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ]
    return moment.replace(year=year, month=month, day=min(moment.day, days[month - 1]))


async def retention_workspaces(session: AsyncSession) -> list[int]:
    """Workspaces with retention turned on."""
    result = await session.scalars(
        select(PrivacySettings.workspace_id)
        .where(PrivacySettings.retention_months.is_not(None))
        .order_by(PrivacySettings.workspace_id)
    )
    return list(result)


async def apply_retention_batch(
    session: AsyncSession, *, workspace_id: int, now: datetime, limit: int = RETENTION_BATCH
) -> int:
    """Delete or anonymise one batch of the workspace's expired conversations; returns how many
    (0: nothing left). Running it again finds nothing new: deleted rows are gone and
    anonymised ones carry redacted_at."""
    settings = await session.get(PrivacySettings, workspace_id)
    if settings is None or settings.retention_months is None:
        return 0
    cutoff = months_before(now, settings.retention_months)
    anonymise = settings.retention_action == "anonymise"
    ids = await conversations.old_resolved_ids(
        session, workspace_id=workspace_id, before=cutoff, limit=limit, unredacted_only=anonymise
    )
    if not ids:
        return 0
    if anonymise:
        workspace = await accounts.get_workspace(session, workspace_id=workspace_id)
        placeholder = gettext(workspace.default_locale, "privacy.redacted.retention")
        messages = await conversations.redact(
            session, workspace_id=workspace_id, conversation_ids=ids, placeholder=placeholder, now=now
        )
        await bot_privacy.forget_conversations(
            session, workspace_id=workspace_id, conversation_ids=ids, placeholder=placeholder
        )
    else:
        messages = None
        await conversations.delete_conversations(session, workspace_id=workspace_id, conversation_ids=ids)
    await audit.record(
        session,
        action="retention.applied",
        target_type="conversation",
        workspace_id=workspace_id,
        details={
            "retention_action": settings.retention_action,
            "months": settings.retention_months,
            "cutoff": cutoff.isoformat(),
            "conversations": len(ids),
            "conversation_ids": ids,
            **({"messages": messages} if messages is not None else {}),
        },
    )
    return len(ids)


async def public_page(session: AsyncSession, *, workspace_id: int) -> dict[str, Any]:
    """What the customer-facing privacy page states: retention, roles, integrations."""
    settings = await get_settings(session, workspace_id=workspace_id)
    tokens = [
        {"name": t.name, "scopes": list(t.scopes or []), "created_at": t.created_at}
        for t in await accounts.list_api_tokens(session, workspace_id=workspace_id)
        if t.revoked_at is None
    ]
    return {"settings": settings, "tokens": tokens}
