"""The widget's side of co-browsing over HTTP: what the consent prompt shows (who asks, in the
customer's language) and the masking settings. Consent, stop and the page events travel on the
widget socket (relay.py). Visitor token in a header, CORS as the rest of the widget API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.channels.models import Inbox
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.cobrowse import service
from sodam.cobrowse.schemas import RRWEB_VERSION
from sodam.core.deps import get_session
from sodam.core.i18n import gettext, normalise
from sodam.core.params import IdPath

router = APIRouter(prefix="/widget/v1/{inbox_token}/cobrowse", tags=["widget"])
STRINGS = ("title", "body", "allow", "decline", "sharing", "stop", "ended", "failed", "pointer")


@router.get("/{cobrowse_id}", dependencies=ReadLimit)
async def widget_cobrowse(
    cobrowse_id: IdPath,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = None,
) -> dict:
    """The prompt of a request to this visitor (404 for anyone else's), in their language."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    row = await service.for_visitor(session, inbox_id=inbox.id, contact_id=contact_id, session_id=cobrowse_id)
    settings = await service.get_settings(session, workspace_id=row.workspace_id)
    lang = normalise(locale)
    agent = (
        await accounts.get_agent(session, workspace_id=row.workspace_id, agent_id=row.requested_by)
        if row.requested_by
        else None
    )
    name = (agent.public_name if agent else "") or gettext(lang, "cobrowse.widget.someone")
    return {
        "session_id": row.id,
        "status": service.current_status(row),
        "agent_name": name,
        "mask_selectors": list(settings.mask_selectors or []),
        "recorder": f"vendor/rrweb-{RRWEB_VERSION}.min.js",
        "strings": {key: gettext(lang, f"cobrowse.widget.{key}", agent=name) for key in STRINGS},
    }
