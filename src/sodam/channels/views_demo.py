"""GET /widget/demo?inbox=TOKEN: a page that embeds the widget snippet, for trying it out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.channels import service as inboxes
from sodam.core.deps import get_session
from sodam.core.i18n import negotiate
from sodam.core.templating import render

router = APIRouter(tags=["widget"])


@router.get("/widget/demo", response_class=HTMLResponse, include_in_schema=False)
async def widget_demo(
    request: Request,
    inbox: str = Query(min_length=1, max_length=100),
    session: AsyncSession = Depends(get_session, scope="function"),
):
    """A sample shop page with the snippet, exactly as a customer would paste it."""
    found = await inboxes.get_by_public_token(session, public_token=inbox)  # 404 for an unknown token
    base = str(request.base_url).rstrip("/")
    snippet = f'<script src="{base}/static/widget.js" data-sodam-inbox="{found.public_token}" async></script>'
    return render(
        request,
        "widget/demo.html",
        {
            "base": base,
            "inbox_token": found.public_token,
            "snippet": snippet,
            "origins": found.allowed_origins,
        },
        locale=negotiate(request.headers.get("accept-language")),
    )
