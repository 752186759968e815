"""The widget reports where the visitor is: each page (URL, title, referrer) of the visit,
including single-page-app navigations; the browser and OS come from the User-Agent."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels.models import Inbox
from sodam.channels.widget import ReadLimit, inbox_for, read_visitor_token
from sodam.contacts import visits
from sodam.core.deps import get_session

router = APIRouter(prefix="/widget/v1/{inbox_token}", tags=["widget"])


class PageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visit_id: str = Field(min_length=1, max_length=40)
    url: str = Field(min_length=1, max_length=2000)
    title: str | None = Field(default=None, max_length=300)
    referrer: str | None = Field(default=None, max_length=2000)


@router.post("/pages", status_code=204, dependencies=ReadLimit)
async def widget_page(
    request: Request,
    body: PageIn,
    inbox: Inbox = Depends(inbox_for),
    session: AsyncSession = Depends(get_session, scope="function"),
    x_sodam_visitor: str | None = Header(default=None),
) -> Response:
    """The page the visitor is on now (the console's side panel shows the visit)."""
    contact_id = read_visitor_token(inbox, x_sodam_visitor)
    await visits.record(
        session,
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        contact_id=contact_id,
        visit_id=body.visit_id,
        url=body.url,
        title=body.title,
        referrer=body.referrer,
        user_agent=request.headers.get("user-agent", ""),
    )
    await session.commit()
    return Response(status_code=204)
