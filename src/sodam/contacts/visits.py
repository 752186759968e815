"""Where a widget visitor is: the pages of each visit, newest last.

Services never commit: callers own the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.contacts.models import VisitorPage
from sodam.contacts.useragent import parse_async
from sodam.core.errors import Invalid

PAGES_SHOWN = 20


def web_url(value: str | None, *, required: bool) -> str | None:
    """An http(s) URL as sent, or None (a referrer may be empty); 422 for anything else."""
    value = (value or "").strip()
    if not value:
        if required:
            raise Invalid("url is required", code="invalid_url")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        if required:
            raise Invalid("url must be an http(s) address", code="invalid_url")
        return None
    return value[:2000]


async def record(
    session: AsyncSession,
    *,
    workspace_id: int,
    inbox_id: int,
    contact_id: int,
    visit_id: str,
    url: str,
    title: str | None,
    referrer: str | None,
    user_agent: str,
) -> VisitorPage:
    """Add a page to the visitor's visit (the same page twice in a row counts once)."""
    url = web_url(url, required=True)
    last = await session.scalar(
        select(VisitorPage)
        .where(VisitorPage.workspace_id == workspace_id, VisitorPage.contact_id == contact_id)
        .order_by(VisitorPage.id.desc())
        .limit(1)
    )
    title = (title or "").strip()[:300] or None
    if last is not None and last.visit_id == visit_id and last.url == url and last.title == title:
        return last
    agent = await parse_async(user_agent or "")
    page = VisitorPage(
        workspace_id=workspace_id,
        inbox_id=inbox_id,
        contact_id=contact_id,
        visit_id=visit_id[:40],
        url=url,
        title=title,
        referrer=web_url(referrer, required=False),
        browser=agent.browser,
        os=agent.os,
        device=agent.device,
    )
    session.add(page)
    await session.flush()
    return page


@dataclass
class Visit:
    current: VisitorPage
    pages: list[VisitorPage]  # of the latest visit, newest first
    referrer: str | None  # where the visit came from (its first page's referrer)


async def latest_visit(session: AsyncSession, *, workspace_id: int, contact_id: int) -> Visit | None:
    """The contact's latest visit: the page they are on, the pages before it, the referrer."""
    rows = list(
        await session.scalars(
            select(VisitorPage)
            .where(VisitorPage.workspace_id == workspace_id, VisitorPage.contact_id == contact_id)
            .order_by(VisitorPage.id.desc())
            .limit(200)
        )
    )
    if not rows:
        return None
    visit = [p for p in rows if p.visit_id == rows[0].visit_id]
    return Visit(current=visit[0], pages=visit[:PAGES_SHOWN], referrer=visit[-1].referrer)


async def forget(session: AsyncSession, *, workspace_id: int, contact_id: int) -> int:
    """Delete the pages a contact visited (erasure on request)."""
    result = await session.execute(
        delete(VisitorPage).where(
            VisitorPage.workspace_id == workspace_id, VisitorPage.contact_id == contact_id
        )
    )
    return result.rowcount or 0
