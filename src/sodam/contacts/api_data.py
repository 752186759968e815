"""REST API v1: typed attribute definitions, merging contacts (and undoing a merge), CSV
import and export. Contacts themselves are in api.py."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from fastapi.responses import StreamingResponse

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.audit import service as audit
from sodam.contacts import attributes, csvio, imports, merge
from sodam.contacts.schemas import (
    AttributeDefinitionIn,
    AttributeDefinitionOut,
    AttributeDefinitionUpdate,
    ImportOut,
    MergeIn,
    MergeOut,
)
from sodam.core.deps import Principal
from sodam.core.errors import Invalid, TooLarge
from sodam.core.i18n import gettext
from sodam.core.params import IdPath

router = APIRouter(prefix="/api/v1", tags=["contacts"])

Agent = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
Manager = Annotated[Principal, Depends(api_access(Permission.contacts_manage, "write"))]
ManagerRead = Annotated[Principal, Depends(api_access(Permission.contacts_manage, "read"))]
Importer = Annotated[Principal, Depends(api_access(Permission.contacts_import, "write"))]
ImporterRead = Annotated[Principal, Depends(api_access(Permission.contacts_import, "read"))]


@router.get(
    "/contact-attributes",
    summary="List the typed custom attributes of contacts and companies",
    response_model=list[AttributeDefinitionOut],
)
async def list_attributes(principal: Agent, session: ApiSession):
    return list(await attributes.list_all(session, workspace_id=principal.workspace_id))


@router.post(
    "/contact-attributes",
    summary="Define a typed custom attribute",
    status_code=201,
    response_model=AttributeDefinitionOut,
)
async def create_attribute(body: AttributeDefinitionIn, principal: Manager, session: ApiSession):
    row = await attributes.create(session, workspace_id=principal.workspace_id, **body.model_dump())
    await session.refresh(row)
    return row


@router.get(
    "/contact-attributes/{definition_id}",
    summary="Get an attribute definition",
    response_model=AttributeDefinitionOut,
)
async def get_attribute(definition_id: IdPath, principal: Agent, session: ApiSession):
    return await attributes.get(session, workspace_id=principal.workspace_id, definition_id=definition_id)


@router.patch(
    "/contact-attributes/{definition_id}",
    summary="Change an attribute's label, options, currency or position",
    response_model=AttributeDefinitionOut,
)
async def update_attribute(
    definition_id: IdPath, body: AttributeDefinitionUpdate, principal: Manager, session: ApiSession
):
    row = await attributes.update(
        session,
        workspace_id=principal.workspace_id,
        definition_id=definition_id,
        **body.model_dump(exclude_unset=True),
    )
    await session.refresh(row)
    return row


@router.delete(
    "/contact-attributes/{definition_id}",
    summary="Remove an attribute definition (stored values stay, as plain text)",
    status_code=204,
)
async def delete_attribute(definition_id: IdPath, principal: Manager, session: ApiSession):
    await attributes.delete(session, workspace_id=principal.workspace_id, definition_id=definition_id)
    return Response(status_code=204)


def merge_out(record) -> dict:
    return {
        "id": record.id,
        "winner_id": record.winner_id,
        "loser_id": record.loser_id,
        "moved": {k: len(v) for k, v in (record.moved or {}).items()},
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "undone_at": record.undone_at,
    }


@router.post(
    "/contacts/{contact_id}/merge",
    summary="Merge another contact into this one (undoable for 24 hours)",
    status_code=201,
    response_model=MergeOut,
)
async def merge_contacts(contact_id: IdPath, body: MergeIn, principal: Manager, session: ApiSession):
    record = await merge.merge(
        session,
        workspace_id=principal.workspace_id,
        winner_id=contact_id,
        loser_id=body.other_id,
        choices={**body.choices, "attributes": body.attribute_choices},
        agent_id=principal.agent_id,
    )
    await audit.record(
        session,
        action="contact.merged",
        target_type="contact",
        target_id=contact_id,
        details={"merge_id": record.id, "loser_id": body.other_id, "moved": merge_out(record)["moved"]},
    )
    await session.refresh(record)
    return merge_out(record)


@router.get("/contact-merges/{merge_id}", summary="Get a merge", response_model=MergeOut)
async def get_merge(merge_id: IdPath, principal: ManagerRead, session: ApiSession):
    return merge_out(await merge.get(session, workspace_id=principal.workspace_id, merge_id=merge_id))


@router.post(
    "/contact-merges/{merge_id}/undo",
    summary="Undo a merge: the merged contact comes back with its identities and conversations (410 after 24 hours)",
    response_model=MergeOut,
)
async def undo_merge(merge_id: IdPath, principal: Manager, session: ApiSession):
    record = await merge.undo(session, workspace_id=principal.workspace_id, merge_id=merge_id)
    await audit.record(
        session,
        action="contact.merge_undone",
        target_type="contact",
        target_id=record.loser_id,
        details={"merge_id": record.id, "winner_id": record.winner_id},
    )
    return merge_out(record)


@router.post(
    "/contact-imports",
    summary="Import contacts from a CSV file (UTF-8, UTF-8 with BOM or CP949); runs as a job",
    status_code=202,
    response_model=ImportOut,
)
async def start_import(principal: Importer, session: ApiSession, file: UploadFile = File(...)):
    data = await file.read(csvio.MAX_BYTES + 1)
    if len(data) > csvio.MAX_BYTES:
        raise TooLarge("the file is larger than 20 MB", code="file_too_large")
    if not data:
        raise Invalid("the file is empty", code="empty_file")
    row = await imports.start(
        session,
        workspace_id=principal.workspace_id,
        filename=file.filename or "contacts.csv",
        data=data,
        agent_id=principal.agent_id,
    )
    return imports.out(row)


@router.get(
    "/contact-imports/{import_id}", summary="An import's progress and bad rows", response_model=ImportOut
)
async def get_import(import_id: IdPath, principal: ImporterRead, session: ApiSession):
    return imports.out(await imports.get(session, workspace_id=principal.workspace_id, import_id=import_id))


@router.get(
    "/contact-imports/{import_id}/errors.csv",
    summary="The bad rows of an import as CSV (line, reason)",
    description="`line,reason` in English by default, or with `lang` (`ko`, `en`) in that language; the "
    "JSON's `errors` carry "
    "a machine-readable `code` and `params` beside the English `reason`.",
    response_class=Response,
)
async def import_errors(
    import_id: IdPath,
    principal: ImporterRead,
    session: ApiSession,
    lang: Literal["en", "ko"] | None = Query(
        default=None, description="The reasons in this language, with its headers (`ko`: 줄, 이유)."
    ),
):
    row = await imports.get(session, workspace_id=principal.workspace_id, import_id=import_id)
    return Response(
        csvio.errors_csv(row.errors or [], partial(gettext, lang) if lang else None),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{row.id}-errors.csv"'},
    )


@router.get(
    "/contact-exports",
    summary="Every contact of the workspace as CSV (UTF-8 with BOM), streamed",
    response_class=Response,
)
async def export_contacts(principal: ImporterRead, session: ApiSession):
    from sodam.contacts import importer

    await audit.record(session, action="contact.exported", target_type="contact", details={"streamed": True})
    await session.commit()
    return StreamingResponse(
        importer.streamed_export(principal.workspace_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )
