"""Console/API imports: the uploaded file is stored with a row and imported by a durable job
(contacts.import_csv), which records its progress and bad rows on that row.
Services never commit: callers own the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts.models import ContactImport
from sodam.core.errors import NotFound
from sodam.jobs.app import defer_in_tx

TASK = "contacts.import_csv"


async def start(
    session: AsyncSession, *, workspace_id: int, filename: str, data: bytes, agent_id: int | None
) -> ContactImport:
    """Store the file and queue its import (in the caller's transaction)."""
    row = ContactImport(
        workspace_id=workspace_id, filename=filename[:255], content=data, agent_id=agent_id, errors=[]
    )
    session.add(row)
    await session.flush()
    await defer_in_tx(session, TASK, {"import_id": row.id}, lock=f"contact-import-{row.id}")
    await session.refresh(row)
    return row


async def get(session: AsyncSession, *, workspace_id: int, import_id: int) -> ContactImport:
    row = await session.scalar(
        select(ContactImport).where(ContactImport.workspace_id == workspace_id, ContactImport.id == import_id)
    )
    if row is None:
        raise NotFound("import not found")
    return row


async def recent(session: AsyncSession, *, workspace_id: int, limit: int = 10) -> list[ContactImport]:
    return list(
        await session.scalars(
            select(ContactImport)
            .where(ContactImport.workspace_id == workspace_id)
            .order_by(ContactImport.id.desc())
            .limit(limit)
        )
    )


async def set_progress(session: AsyncSession, *, import_id: int, **values: Any) -> None:
    await session.execute(update(ContactImport).where(ContactImport.id == import_id).values(**values))


def out(row: ContactImport) -> dict[str, Any]:
    return {
        "id": row.id,
        "filename": row.filename,
        "status": row.status,
        "total": row.total,
        "processed": row.processed,
        "created_count": row.created_count,
        "updated_count": row.updated_count,
        "failed": len(row.errors or []),
        "errors": (row.errors or [])[:100],
        "message": row.message,
        "created_at": row.created_at,
    }
