"""What readers do with the knowledge base: the help center's article views, votes (also the
bot's "was this helpful?"), the search log and its click-through, and the figures read from
them (most viewed, most searched, content gaps). Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.knowledge import clock
from sodam.knowledge.models import KbArticle, KbSearch, KbVote
from sodam.knowledge.service import KbSearchResult, get_published


async def record_view(session: AsyncSession, *, workspace_id: int, article_id: int) -> None:
    """Count one view (an atomic increment: concurrent readers never lose a count)."""
    await session.execute(
        update(KbArticle)
        .where(KbArticle.id == article_id, KbArticle.workspace_id == workspace_id)
        .values(view_count=KbArticle.view_count + 1, last_viewed_at=clock.now())
    )


async def vote(
    session: AsyncSession, *, workspace_id: int, article_id: int, visitor: str, helpful: bool
) -> bool:
    """Record a visitor's 👍/👎; a repeat vote changes it instead of counting twice.

    Returns False when the visitor had already voted the same way.
    """
    await get_published(session, workspace_id=workspace_id, article_id=article_id)
    previous = await session.scalar(
        select(KbVote.helpful)
        .where(KbVote.article_id == article_id, KbVote.visitor == visitor)
        .with_for_update()
    )
    if previous is helpful:
        return False
    if previous is None:
        stmt = insert(KbVote).values(
            workspace_id=workspace_id, article_id=article_id, visitor=visitor[:64], helpful=helpful
        )
        inserted = await session.execute(stmt.on_conflict_do_nothing().returning(KbVote.id))
        if inserted.first() is None:
            return False  # the same visitor's other request won the race
    else:
        await session.execute(
            update(KbVote)
            .where(KbVote.article_id == article_id, KbVote.visitor == visitor)
            .values(helpful=helpful)
        )
    up = 1 if helpful else 0
    down = 0 if helpful else 1
    if previous is not None:  # a changed mind: move the vote from one counter to the other
        up, down = (1, -1) if helpful else (-1, 1)
    await session.execute(
        update(KbArticle)
        .where(KbArticle.id == article_id)
        .values(
            helpful_count=KbArticle.helpful_count + up,
            not_helpful_count=KbArticle.not_helpful_count + down,
        )
    )
    return True


async def record_bot_feedback(
    session: AsyncSession, *, workspace_id: int, article_id: int, helpful: bool
) -> None:
    """Count the bot's "도움이 되었나요?" answer on the article it gave (feeds the ranking)."""
    column = "bot_confirmed_count" if helpful else "bot_unhelpful_count"
    await session.execute(
        update(KbArticle)
        .where(KbArticle.id == article_id, KbArticle.workspace_id == workspace_id)
        .values({column: getattr(KbArticle, column) + 1})
    )


async def record_search(
    session: AsyncSession,
    *,
    workspace_id: int,
    result: KbSearchResult,
    source: str = "helpcenter",
) -> KbSearch | None:
    """Log a search (query, locale, result count, top hit); empty queries are not logged."""
    if not result.query:
        return None
    row = KbSearch(
        workspace_id=workspace_id,
        query=result.query,
        normalized=result.query.lower().rstrip("?!. "),
        locale=result.locale,
        source=source[:16],
        result_count=len(result.hits),
        top_article_id=result.hits[0].article_id if result.hits else None,
    )
    session.add(row)
    await session.flush()
    return row


async def record_click(session: AsyncSession, *, workspace_id: int, search_id: int, article_id: int) -> None:
    """Remember which result a search led to (first click wins)."""
    await session.execute(
        update(KbSearch)
        .where(
            KbSearch.id == search_id,
            KbSearch.workspace_id == workspace_id,
            KbSearch.clicked_article_id.is_(None),
        )
        .values(clicked_article_id=article_id)
    )


async def most_viewed(
    session: AsyncSession, *, workspace_id: int, locale: str | None = None, limit: int = 5
) -> list[KbArticle]:
    stmt = select(KbArticle).where(
        KbArticle.workspace_id == workspace_id, KbArticle.status == "published", KbArticle.view_count > 0
    )
    if locale:
        stmt = stmt.where(KbArticle.locale == locale)
    rows = await session.scalars(stmt.order_by(KbArticle.view_count.desc(), KbArticle.id).limit(limit))
    return list(rows.all())


@dataclass(frozen=True)
class SearchedQuery:
    query: str
    locale: str
    searches: int
    zero_results: int
    clicks: int
    top_article_id: int | None = None
    helpful: int = 0
    not_helpful: int = 0

    @property
    def zero_share(self) -> float:
        return self.zero_results / self.searches if self.searches else 0.0


async def _grouped_searches(
    session: AsyncSession,
    *,
    workspace_id: int,
    locale: str | None,
    days: int,
    limit: int,
    having_results: bool,
) -> list[SearchedQuery]:
    since = datetime.now(UTC) - timedelta(days=days)
    stmt = (
        select(
            KbSearch.normalized,
            KbSearch.locale,
            func.count().label("n"),
            func.count().filter(KbSearch.result_count == 0).label("zero"),
            func.count(KbSearch.clicked_article_id).label("clicks"),
            func.min(KbSearch.query).label("example"),
            func.mode().within_group(KbSearch.top_article_id).label("top"),
        )
        .where(KbSearch.workspace_id == workspace_id, KbSearch.created_at >= since)
        .group_by(KbSearch.normalized, KbSearch.locale)
        .order_by(func.count().desc(), KbSearch.normalized)
        .limit(limit)
    )
    if locale:
        stmt = stmt.where(KbSearch.locale == locale)
    if having_results:
        stmt = stmt.having(func.count().filter(KbSearch.result_count > 0) > 0)
    rows = (await session.execute(stmt)).all()
    return [SearchedQuery(r.example, r.locale, r.n, r.zero, r.clicks, r.top) for r in rows]


async def most_searched(
    session: AsyncSession, *, workspace_id: int, locale: str | None = None, days: int = 30, limit: int = 5
) -> list[SearchedQuery]:
    """The most frequent searches that found something (what customers look for most)."""
    return await _grouped_searches(
        session, workspace_id=workspace_id, locale=locale, days=days, limit=limit, having_results=True
    )


async def content_gaps(
    session: AsyncSession, *, workspace_id: int, days: int = 30, limit: int = 50, min_searches: int = 1
) -> list[SearchedQuery]:
    """Frequent searches that mostly found nothing, or whose usual top article is mostly 👎."""
    grouped = await _grouped_searches(
        session, workspace_id=workspace_id, locale=None, days=days, limit=1000, having_results=False
    )
    top_ids = {g.top_article_id for g in grouped if g.top_article_id}
    votes: dict[int, tuple[int, int]] = {}
    if top_ids:
        rows = await session.execute(
            select(KbArticle.id, KbArticle.helpful_count, KbArticle.not_helpful_count).where(
                KbArticle.workspace_id == workspace_id, KbArticle.id.in_(top_ids)
            )
        )
        votes = {r.id: (r.helpful_count, r.not_helpful_count) for r in rows}
    gaps = []
    for g in grouped:
        if g.searches < min_searches:
            continue
        up, down = votes.get(g.top_article_id or 0, (0, 0))
        unhelpful = down > up and down >= 1
        if g.zero_share >= 0.5 or unhelpful:
            gaps.append(
                SearchedQuery(
                    g.query, g.locale, g.searches, g.zero_results, g.clicks, g.top_article_id, up, down
                )
            )
    return gaps[:limit]
