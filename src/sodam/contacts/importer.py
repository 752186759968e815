"""Importing a contact CSV (upsert by e-mail, then phone) and exporting contacts.

Each row is its own savepoint: a bad row (wrong type, an e-mail and a phone of two different
contacts) is reported with its line number and the rest goes in. Rows are committed in
batches, so a large file neither holds one huge transaction nor loses what was done when a
later batch fails; the caller gives a session it may commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.companies.models import Company
from sodam.contacts import attributes, csvio
from sodam.contacts import service as contacts
from sodam.contacts.models import Contact
from sodam.core.errors import AppError

BATCH = 250
Progress = Callable[[int, int], Awaitable[None] | None]


@dataclass
class Report:
    total: int = 0
    processed: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    encoding: str = ""
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "failed": len(self.errors),
            "errors": self.errors,
            "encoding": self.encoding,
            "ignored_columns": self.ignored_columns,
        }


async def _upsert(session: AsyncSession, *, workspace_id: int, row: csvio.Row) -> str:
    email, phone = row.fields.get("email"), row.fields.get("phone")
    await contacts.lock_keys(session, workspace_id=workspace_id, email=email, phone=phone)
    by_email = await contacts.find_by_email(session, workspace_id=workspace_id, email=email)
    by_phone = await contacts.find_by_phone(session, workspace_id=workspace_id, phone=phone)
    if by_email and by_phone and by_email.id != by_phone.id:
        raise AppError(
            f"the e-mail belongs to contact #{by_email.id} and the phone to contact #{by_phone.id}",
            code="two_contacts",
        )
    existing = by_email or by_phone
    values = {**row.fields}
    if row.attributes:
        values["custom_attributes"] = row.attributes
    if existing is None:
        await contacts.create(session, workspace_id=workspace_id, **values)
        return "created"
    await contacts.update(session, workspace_id=workspace_id, contact_id=existing.id, **values)
    return "updated"


async def import_csv(
    session: AsyncSession,
    *,
    workspace_id: int,
    data: bytes,
    progress: Progress | None = None,
    commit: bool = True,
) -> Report:
    """Import a CSV file's rows into the workspace; csvio.Unreadable for an unreadable file."""
    text, encoding = csvio.decode(data)
    header, rows = csvio.read(text)
    definitions = await attributes.definitions(session, workspace_id=workspace_id)
    mapping = csvio.map_header(header, definitions)
    if not set(mapping.fields.values()) & {"name", "email", "phone"}:
        raise csvio.Unreadable("no column for name, e-mail or phone in the header line")
    rows = list(rows)
    report = Report(total=len(rows), encoding=encoding, ignored_columns=mapping.ignored)
    for index, (line, cells) in enumerate(rows, start=1):
        parsed = csvio.parse_row(line, cells, mapping, definitions)
        if isinstance(parsed, csvio.BadRow):
            report.errors.append(parsed.as_error())
        elif parsed is not None:
            try:
                async with session.begin_nested():
                    outcome = await _upsert(session, workspace_id=workspace_id, row=parsed)
                if outcome == "created":
                    report.created += 1
                else:
                    report.updated += 1
            except AppError as exc:
                report.errors.append(
                    {
                        "line": line,
                        "reason": exc.message,
                        "code": "rejected",
                        "params": {"detail": exc.message},
                    }
                )
        report.processed = index
        if index % BATCH == 0 or index == len(rows):
            if commit:
                await session.commit()
            if progress is not None:
                result = progress(index, len(rows))
                if result is not None:
                    await result
    if not rows and progress is not None:
        result = progress(0, 0)
        if result is not None:
            await result
    return report


EXPORT_CHUNK = 1000  # rows per chunk of a streamed export


async def _attribute_keys(session: AsyncSession, *, workspace_id: int, definitions: dict) -> list[str]:
    """The defined attributes, then any other valid key a contact holds (one statement)."""
    keys = list(definitions)
    held = await session.scalars(
        text(
            "SELECT DISTINCT k FROM contacts, jsonb_object_keys(custom_attributes) AS k"
            " WHERE workspace_id = :ws AND jsonb_typeof(custom_attributes) = 'object' ORDER BY k"
        ),
        {"ws": workspace_id},
    )
    return keys + [k for k in held if k not in definitions and attributes.KEY_RE.match(k)]


async def export_chunks(session: AsyncSession, *, workspace_id: int) -> AsyncIterator[bytes]:
    """Every contact of the workspace (oldest first) with its company and attributes, as CSV
    in chunks: the BOM and header, then EXPORT_CHUNK rows at a time read through a
    server-side cursor, so a large workspace never sits in memory whole."""
    definitions = await attributes.definitions(session, workspace_id=workspace_id)
    keys = await _attribute_keys(session, workspace_id=workspace_id, definitions=definitions)
    yield csvio.BOM + csvio.lines([csvio.export_header(keys)])
    result = await session.stream(
        select(
            Contact.id,
            Contact.name,
            Contact.email,
            Contact.phone,
            Contact.language,
            Contact.company,
            Company.domain,
            Contact.created_at,
            Contact.custom_attributes,
        )
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(Contact.workspace_id == workspace_id)
        .order_by(Contact.id)
        .execution_options(yield_per=EXPORT_CHUNK)
    )
    async for part in result.partitions(EXPORT_CHUNK):
        rows = []
        for cid, name, email, phone, language, company, domain, created_at, attrs in part:
            attrs = attrs if isinstance(attrs, dict) else {}
            rows.append(
                [
                    cid,
                    name or "",
                    email or "",
                    phone or "",
                    language or "",
                    company or "",
                    domain or "",
                    created_at.isoformat(),
                    *[
                        attributes.display(definitions.get(k), attrs.get(k)) if k in attrs else ""
                        for k in keys
                    ],
                ]
            )
        yield csvio.lines(rows)


async def streamed_export(workspace_id: int) -> AsyncIterator[bytes]:
    """The export for a streamed response: its own read-only session, held while the body is
    sent (the request's session is closed by then)."""
    from sodam.db.session import session_scope

    async with session_scope() as session:
        async for chunk in export_chunks(session, workspace_id=workspace_id):
            yield chunk


async def export_csv(session: AsyncSession, *, workspace_id: int) -> bytes:
    """The whole export as one value (small workspaces and tests; pages and the API stream)."""
    return b"".join([chunk async for chunk in export_chunks(session, workspace_id=workspace_id)])
