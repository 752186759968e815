"""REST API v1: an e-mail inbox's address, relay and signatures (inboxes.manage)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.errors import Invalid, NotFound
from sodam.core.pagination import MAX_ID
from sodam.mail import service
from sodam.mail.schemas import MailConfigIn, MailConfigOut

router = APIRouter(prefix="/api/v1/inboxes", tags=["inboxes"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
MailReader = Annotated[Principal, Depends(api_access(Permission.inboxes_manage, "read"))]
MailWriter = Annotated[Principal, Depends(api_access(Permission.inboxes_manage, "write"))]
ERRORS = {
    403: {"description": "The token's agent lacks inboxes.manage (`permission_required`)."},
    409: {
        "description": "Not an e-mail inbox (`not_email_inbox`) or the address is taken (`address_taken`)."
    },
}


@router.get(
    "/{inbox_id}/mail",
    summary="Get an e-mail inbox's address, relay and signatures (inboxes.manage)",
    response_model=MailConfigOut,
    responses=ERRORS,
)
async def get_mail_settings(inbox_id: Id, principal: MailReader, session: ApiSession):
    await service.email_inbox(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    config = await service.get_config(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    if config is None:
        raise NotFound("this e-mail inbox has no address yet", code="mail_not_configured")
    return MailConfigOut.of(config)


@router.put(
    "/{inbox_id}/mail",
    summary="Set an e-mail inbox's address, relay and signatures (inboxes.manage)",
    response_model=MailConfigOut,
    responses=ERRORS,
    description="Fields left out stay as they are (the first call needs `address`). "
    "The relay password is never returned (`has_password`).",
)
async def set_mail_settings(inbox_id: Id, body: MailConfigIn, principal: MailWriter, session: ApiSession):
    values = body.model_dump(exclude_unset=True)
    if any(isinstance(v, str) and "\x00" in v for v in values.values()):
        raise Invalid("text must not contain the NUL character", code="validation_error")
    config = await service.set_config(
        session, workspace_id=principal.workspace_id, inbox_id=inbox_id, **values
    )
    return MailConfigOut.of(config)
