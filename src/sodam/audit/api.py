"""REST API v1: the audit log (audit.read), as pages or as one CSV / JSON-lines file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.audit import service
from sodam.audit.models import AuditEntry
from sodam.audit.schemas import EXPORT_FIELDS, AuditEntryOut, AuditFilters, audit_filters
from sodam.core.deps import Principal
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.db.session import session_scope

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
AuditReader = Annotated[Principal, Depends(api_access(Permission.audit_read, "read"))]
ADMIN_ONLY = {403: {"description": "The token's agent lacks audit.read (`permission_required`)."}}


@router.get(
    "",
    summary="The audit log, newest first (audit.read)",
    response_model=Page[AuditEntryOut],
    responses=ADMIN_ONLY,
    description="Every read of a contact's personal data and every change made by an agent or an "
    "API token, with the actor, the time and the client's IP and user agent. Filters combine.",
)
async def list_entries(
    principal: AuditReader,
    session: ApiSession,
    page: PageQuery,
    filters: AuditFilters = Depends(audit_filters),
):
    before = decode_cursor(page.cursor, "audit", {"id": int})["id"] if page.cursor else None
    rows = await service.list_page(
        session,
        workspace_id=principal.workspace_id,
        before_id=before,
        limit=page.limit + 1,
        **filters.as_kwargs(),
    )
    rows, cursor = page_of(rows, page.limit, lambda e: encode_cursor("audit", {"id": e.id}))
    return {"data": rows, "next_cursor": cursor}


def entry_dict(entry: AuditEntry) -> dict:
    return AuditEntryOut.model_validate(entry).model_dump(mode="json")


async def export_lines(workspace_id: int, filters: AuditFilters, fmt: str) -> AsyncIterator[str]:
    """The matching entries as CSV rows or JSON lines, read in batches on their own session
    (the request's transaction has committed by the time the body streams)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    if fmt == "csv":
        writer.writeheader()
    async with session_scope() as session:
        async for entry in service.iterate(session, workspace_id=workspace_id, **filters.as_kwargs()):
            row = entry_dict(entry)
            if fmt == "jsonl":
                yield json.dumps(row, ensure_ascii=False) + "\n"
                continue
            row["details"] = json.dumps(row["details"], ensure_ascii=False)
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


def export_response(workspace_id: int, filters: AuditFilters, fmt: str) -> StreamingResponse:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    return StreamingResponse(
        export_lines(workspace_id, filters, fmt),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="sodam-audit-{stamp}.{fmt}"'},
    )


@router.get(
    "/export",
    summary="Export the audit log as CSV or JSON lines (audit.read)",
    responses={**ADMIN_ONLY, 200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
    description="The same filters as the list; newest first; the export itself is logged (`audit.exported`).",
)
async def export(
    principal: AuditReader,
    session: ApiSession,
    filters: AuditFilters = Depends(audit_filters),
    format: Literal["csv", "jsonl"] = Query(default="csv"),
):
    await service.record(
        session,
        action="audit.exported",
        target_type="audit",
        details={"format": format, **filters.as_details()},
    )
    await session.commit()
    return export_response(principal.workspace_id, filters, format)
