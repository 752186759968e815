"""REST API v1: a contact's data exported or erased (privacy.manage), and the retention settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from sodam.accounts.auth import ApiSession, ReadPrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID
from sodam.privacy import service
from sodam.privacy.schemas import ErasureOut, PrivacySettingsOut, PrivacySettingsPatch

router = APIRouter(prefix="/api/v1")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PrivacyReader = Annotated[Principal, Depends(api_access(Permission.privacy_manage, "read"))]
PrivacyManager = Annotated[Principal, Depends(api_access(Permission.privacy_manage, "write"))]
ADMIN_ONLY = {
    403: {"description": "The token's agent lacks privacy.manage (`permission_required`) or the scope."}
}


def download(document: dict, contact_id: int) -> JSONResponse:
    return JSONResponse(
        document,
        headers={"content-disposition": f'attachment; filename="sodam-contact-{contact_id}.json"'},
    )


@router.get(
    "/contacts/{contact_id}/export",
    tags=["contacts", "privacy"],
    summary="Everything stored about a contact, as one JSON file (privacy.manage)",
    responses=ADMIN_ONLY,
    description="The contact's fields and custom attributes, its channel identities, and every "
    "conversation with its messages (oldest first). Private notes are agents' internal "
    "remarks and are left out unless `include_notes=true`. Logged as `contact.exported`.",
)
async def export_contact(
    contact_id: Id,
    principal: PrivacyReader,
    session: ApiSession,
    include_notes: bool = Query(default=False, description="Also include private notes."),
):
    document = await service.export_contact(
        session, workspace_id=principal.workspace_id, contact_id=contact_id, include_notes=include_notes
    )
    return download(document, contact_id)


@router.post(
    "/contacts/{contact_id}/erase",
    tags=["contacts", "privacy"],
    summary="Erase a contact's personal data on request (privacy.manage)",
    response_model=ErasureOut,
    responses=ADMIN_ONLY,
    description="Every message of the contact's conversations is redacted in place (text replaced, "
    "extras cleared), the contact's name, e-mail, phone, company and custom attributes are blanked "
    "and its channel identities removed. Conversations keep their shape for reports. The audit "
    "log keeps who erased whom and when (`contact.erased`). Running it again is harmless.",
)
async def erase_contact(contact_id: Id, principal: PrivacyManager, session: ApiSession):
    return await service.erase_contact(session, workspace_id=principal.workspace_id, contact_id=contact_id)


@router.get(
    "/privacy/settings",
    tags=["privacy"],
    summary="The workspace's retention settings",
    response_model=PrivacySettingsOut,
)
async def get_settings(principal: ReadPrincipal, session: ApiSession):
    return await service.get_settings(session, workspace_id=principal.workspace_id)


@router.patch(
    "/privacy/settings",
    tags=["privacy"],
    summary="Change retention or the privacy contact address (privacy.manage)",
    response_model=PrivacySettingsOut,
    responses=ADMIN_ONLY,
    description="`retention_months: null` turns retention off. A daily job then deletes or "
    "anonymises resolved conversations with no activity for that many months.",
)
async def update_settings(body: PrivacySettingsPatch, principal: PrivacyManager, session: ApiSession):
    return await service.update_settings(
        session, workspace_id=principal.workspace_id, **body.model_dump(exclude_unset=True)
    )
