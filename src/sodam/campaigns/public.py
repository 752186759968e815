"""Customer-facing routes: the tracked link redirect and the e-mail open pixel (no sign-in:
the token names a recipient and a link index only), and the widget's banner (active incident
announcements and banner campaigns for this visitor) and "seen" report (opened)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.campaigns import announcements, send, service, tracking
from sodam.campaigns.models import Campaign, CampaignRecipient
from sodam.channels.models import Inbox
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.contacts import service as contacts
from sodam.core.deps import get_session
from sodam.core.errors import AppError, NotFound
from sodam.core.i18n import negotiate, normalise

router = APIRouter(prefix="/c", include_in_schema=False)
widget_router = APIRouter(prefix="/widget/v1/{inbox_token}", tags=["widget"])

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("/o/{token}.gif")
async def open_pixel(token: str, session: AsyncSession = Depends(get_session, scope="function")):
    """The e-mail was opened (images shown): counted once; always the same tiny image."""
    found = tracking.read(token)
    if found is not None and found[1] is None:
        await service.mark(session, recipient_id=found[0], what="opened")
        await session.commit()
    return Response(GIF, media_type="image/gif", headers=PRIVATE)


@router.get("/l/{token}")
async def click(token: str, session: AsyncSession = Depends(get_session, scope="function")):
    """A tracked link: counted once, then 303 to the campaign's own link (never to a URL
    taken from the request, and the target sees no Referer carrying the token)."""
    found = tracking.read(token)
    if found is None or found[1] is None:
        raise NotFound("unknown link", code="unknown_link")
    recipient = await service.recipient(session, recipient_id=found[0])
    campaign = await session.get(Campaign, recipient.campaign_id) if recipient else None
    if campaign is None or not 0 <= found[1] < len(campaign.links or []):
        raise NotFound("unknown link", code="unknown_link")
    await service.mark(session, recipient_id=recipient.id, what="clicked")
    await session.commit()
    return RedirectResponse(campaign.links[found[1]], status_code=303, headers=PRIVATE)


def _visitor(inbox: Inbox, token: str | None) -> int | None:
    if not token:
        return None
    try:
        return read_visitor_token(inbox, token)
    except AppError:
        return None


@widget_router.get("/banner", dependencies=ReadLimit)
async def widget_banner(
    request: Request,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
    locale: str | None = Query(default=None, max_length=20),
) -> dict:
    """What the widget's banner shows now: active incident announcements (everyone) and the
    banner campaigns this visitor is in. A "banner" socket frame says: fetch again."""
    contact_id = _visitor(inbox, x_sodam_visitor)
    lang = normalise(locale) if locale else negotiate(request.headers.get("accept-language"))
    items = [announcements.wire(a, lang) for a in await announcements.active(session, inbox.workspace_id)]
    if contact_id is not None:
        now = datetime.now(UTC)
        rows = (
            await session.execute(
                select(Campaign, CampaignRecipient.id)
                .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
                .where(
                    Campaign.workspace_id == inbox.workspace_id,
                    Campaign.inbox_id == inbox.id,
                    Campaign.channel == "widget_banner",
                    Campaign.status == "done",
                    or_(Campaign.ends_at.is_(None), Campaign.ends_at > now),
                    CampaignRecipient.contact_id == contact_id,
                    CampaignRecipient.status == "sent",
                )
                .order_by(Campaign.id.desc())
                .limit(3)
            )
        ).all()
        if rows:
            contact = await contacts.get(session, workspace_id=inbox.workspace_id, contact_id=contact_id)
            base = tracking.base_url()
            for c, rid in rows:
                language = send.pick_language(c, locale and lang or contact.language)
                body = c.body_en if language == "en" else c.body_ko
                text = tracking.rewrite(send.personalise(body, contact.name, language), c.links, rid, base)
                items.append(
                    {"id": c.id, "kind": "campaign", "severity": "info", "text": text, "ends_at": None}
                )
    return {"items": items}


class SeenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_ids: list[int] = Field(default_factory=list, max_length=50)
    campaign_ids: list[int] = Field(default_factory=list, max_length=10)


@widget_router.post("/campaigns/seen", dependencies=ReadLimit, status_code=204)
async def widget_seen(
    body: SeenIn,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
):
    """The visitor's widget showed these campaign messages (or banners): opened."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    if body.message_ids or body.campaign_ids:
        await session.execute(
            update(CampaignRecipient)
            .where(
                CampaignRecipient.workspace_id == inbox.workspace_id,
                CampaignRecipient.contact_id == contact_id,
                CampaignRecipient.status == "sent",
                CampaignRecipient.opened_at.is_(None),
                or_(
                    CampaignRecipient.message_id.in_(body.message_ids or [0]),
                    CampaignRecipient.campaign_id.in_(body.campaign_ids or [0]),
                ),
            )
            .values(opened_at=datetime.now(UTC))
        )
        await session.commit()
    return Response(status_code=204)
