"""The widget's side of page rules: the rules ride in the widget's config (GET /config, one
short-cached query per inbox and language), the widget decides in the browser, and reports here
what it showed and what the visitor did. `shown` is also the server's side of the frequency cap:
the answer says whether to show it at all, and carries the suggested articles.

Anonymous visitors are counted by a random key the widget keeps in localStorage (page views are
not contacts); a visitor token, when the visitor has one, links the key to their contact."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.channels import widget
from sodam.channels.models import Inbox
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.config import get_settings
from sodam.core.deps import get_session
from sodam.core.errors import AppError
from sodam.core.i18n import normalise
from sodam.core.params import IdPath
from sodam.pagehelp import service

router = APIRouter(prefix="/widget/v1/{inbox_token}/page-rules", tags=["widget"])


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visitor_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["shown", "clicked_article", "opened_chat"]
    article_id: int | None = Field(default=None, ge=1, le=2**53)
    page_title: str | None = Field(default=None, max_length=300)
    locale: str | None = Field(default=None, max_length=20)


async def _config_part(session: AsyncSession, inbox: Inbox, lang: str) -> list[dict[str, Any]]:
    return await service.widget_rules(session, inbox=inbox, lang=lang)


# GET /config carries the rules (channels never imports this domain: it asks its registry).
widget.CONFIG_PARTS["page_rules"] = _config_part


@router.post("/{rule_id}/events", dependencies=ReadLimit)
async def page_rule_event(
    request: Request,
    rule_id: IdPath,
    body: EventIn,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
) -> dict[str, Any]:
    """`shown` → {show, articles}: show it only when `show` (the cap holds on the server too);
    `clicked_article` / `opened_chat` → {recorded}."""
    rule = await service.rule_for_inbox(session, inbox=inbox, rule_id=rule_id)
    contact_id = None
    if x_sodam_visitor:
        try:
            contact_id = read_visitor_token(inbox, x_sodam_visitor)
        except AppError:
            contact_id = None  # an expired token: still counted, anonymously
    recorded = await service.record(
        session,
        inbox=inbox,
        rule=rule,
        visitor_key=body.visitor_key,
        contact_id=contact_id,
        kind=body.kind,
        article_id=body.article_id,
    )
    if body.kind != "shown":
        await session.commit()
        return {"recorded": recorded}
    articles: list[dict[str, Any]] = []
    if recorded and rule.article_mode != "none":
        lang = normalise(body.locale) if body.locale else "ko"
        found = await service.suggested_articles(session, rule=rule, lang=lang, page_title=body.page_title)
        if found:
            workspace = await accounts.get_workspace(session, workspace_id=inbox.workspace_id)
            help_center = f"{get_settings().request_base_url(request)}/help/{workspace.slug}"
            articles = [{**a, "url": f"{help_center}/articles/{a['id']}?lang={lang}"} for a in found]
    await session.commit()
    return {"show": recorded, "articles": articles}
