"""Knowledge-base hygiene: which published articles need attention first, and the weekly
reminder to their owners.

Signals per published article (thresholds from the workspace's settings):
- `overdue`: its review-by date has passed;
- `unviewed`: no help-center view in `stale_view_days` (counted from publication when it
  was never viewed; an article younger than that is not flagged);
- `downvoted`: at least `min_downvotes` 👎 (help center + the bot's "no") and more 👎 than 👍;
- `handoffs`: bot conversations in the last `handoff_days` that were handed to a person
  after the bot answered with, offered or tried the article.
Each signal adds points (below); the report lists articles by score with the reasons.

The owner of an article is its author / last editor (`kb_articles.author_id`); an article
without an active owner goes to the workspace's 매니저 (admins and supervisors). The weekly
job leaves one console notice per owner per week — `kb_review_reminders` is unique per
(workspace, owner, week), so a retried or doubled job never reminds twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.knowledge import clock
from sodam.knowledge import settings as kb_settings
from sodam.knowledge.models import KbArticle, KbReviewReminder

NOTICE_KIND = "kb_stale"
NOTICE_ARTICLES = 5  # titles listed in one reminder


@dataclass(frozen=True)
class Reason:
    code: str  # overdue | unviewed | downvoted | handoffs
    points: int
    value: int  # days overdue / days without a view / 👎 count / handoffs


@dataclass
class ArticleHealth:
    article_id: int
    title: str
    locale: str
    category_id: int | None
    owner_id: int | None
    review_by: datetime | None
    score: int = 0
    reasons: list[Reason] = field(default_factory=list)
    helpful: int = 0
    not_helpful: int = 0
    handoffs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "locale": self.locale,
            "category_id": self.category_id,
            "owner_id": self.owner_id,
            "review_by": self.review_by,
            "score": self.score,
            "reasons": [r.__dict__ for r in self.reasons],
            "helpful": self.helpful,
            "not_helpful": self.not_helpful,
            "handoffs": self.handoffs,
        }


def score_article(
    article: KbArticle, *, now: datetime, config: kb_settings.KbConfig, handoffs: int
) -> ArticleHealth:
    """One article's reasons and score (pure: the ranking's arithmetic in one place)."""
    up = article.helpful_count + article.bot_confirmed_count
    down = article.not_helpful_count + article.bot_unhelpful_count
    health = ArticleHealth(
        article.id,
        article.title,
        article.locale,
        article.category_id,
        article.author_id,
        article.review_by,
        helpful=up,
        not_helpful=down,
        handoffs=handoffs,
    )
    if article.review_by is not None and article.review_by <= now:
        days = (now - article.review_by).days
        health.reasons.append(Reason("overdue", 30 + min(30, days // 7 * 3), days))
    seen = article.last_viewed_at or article.published_at or article.created_at
    if seen is not None and now - seen >= timedelta(days=config.stale_view_days):
        health.reasons.append(Reason("unviewed", 15, (now - seen).days))
    if down >= config.min_downvotes and down > up:
        health.reasons.append(Reason("downvoted", 20 + min(30, (down - up) * 3), down))
    if handoffs:
        health.reasons.append(Reason("handoffs", 10 * min(handoffs, 5), handoffs))
    health.score = sum(r.points for r in health.reasons)
    return health


async def handoff_counts(session: AsyncSession, *, workspace_id: int, since: datetime) -> dict[int, int]:
    """Bot conversations handed to a person since `since`, per article the bot had answered
    with, offered or tried (each conversation counts once per article)."""
    rows = await session.execute(
        text(
            """
            SELECT a.article_id, count(DISTINCT b.id)
              FROM bot_conversations b
             CROSS JOIN LATERAL unnest(
                   array_remove(ARRAY[b.answered_article_id], NULL)
                   || b.tried_article_ids || b.offered_article_ids) AS a(article_id)
             WHERE b.workspace_id = :ws AND b.outcome = 'handed_off' AND b.outcome_at >= :since
             GROUP BY a.article_id
            """
        ),
        {"ws": workspace_id, "since": since},
    )
    return {int(r[0]): int(r[1]) for r in rows}


async def report(
    session: AsyncSession,
    *,
    workspace_id: int,
    locale: str | None = None,
    limit: int = 100,
    include_healthy: bool = False,
) -> list[ArticleHealth]:
    """Published articles ranked by what to fix first (highest score; ties: oldest review date)."""
    now = clock.now()
    config = await kb_settings.get(session, workspace_id=workspace_id)
    stmt = select(KbArticle).where(KbArticle.workspace_id == workspace_id, KbArticle.status == "published")
    if locale:
        stmt = stmt.where(KbArticle.locale == locale)
    articles = list((await session.scalars(stmt)).all())
    handoffs = await handoff_counts(
        session, workspace_id=workspace_id, since=now - timedelta(days=config.handoff_days)
    )
    scored = [score_article(a, now=now, config=config, handoffs=handoffs.get(a.id, 0)) for a in articles]
    if not include_healthy:
        scored = [s for s in scored if s.score > 0]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    scored.sort(key=lambda s: (-s.score, s.review_by or far, s.article_id))
    return scored[:limit]


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week `moment` falls in: the reminder's once-per-week key."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


async def _owners(session: AsyncSession, workspace_id: int) -> tuple[set[int], list[int]]:
    agents = await accounts.list_agents(session, workspace_id=workspace_id)
    active = {a.id for a in agents if a.is_active}
    managers = [a.id for a in agents if a.is_active and a.role.value in ("admin", "supervisor")]
    return active, managers


async def send_reminders(session: AsyncSession, *, workspace_id: int) -> list[int]:
    """Remind each owner of their stale articles (once per week per owner); returns who was told."""
    stale = await report(session, workspace_id=workspace_id, limit=10_000)
    if not stale:
        return []
    active, managers = await _owners(session, workspace_id)
    by_owner: dict[int, list[ArticleHealth]] = {}
    for item in stale:
        owners = [item.owner_id] if item.owner_id in active else managers
        for owner in owners:
            by_owner.setdefault(owner, []).append(item)
    week = week_of(clock.now())
    told = []
    for owner, items in sorted(by_owner.items()):
        inserted = await session.execute(
            insert(KbReviewReminder)
            .values(
                workspace_id=workspace_id,
                agent_id=owner,
                week=week,
                article_ids=[i.article_id for i in items],
            )
            .on_conflict_do_nothing(constraint="uq_kb_review_reminders_week")
            .returning(KbReviewReminder.id)
        )
        if inserted.first() is None:
            continue  # this owner was reminded this week already
        await accounts.add_notice(
            session,
            workspace_id=workspace_id,
            agent_id=owner,
            kind=NOTICE_KIND,
            details={
                "week": week.isoformat(),
                "count": len(items),
                "articles": [{"id": i.article_id, "title": i.title[:120]} for i in items[:NOTICE_ARTICLES]],
            },
        )
        told.append(owner)
    return told


async def workspaces_with_articles(session: AsyncSession) -> list[int]:
    """Workspaces that have published articles (the weekly job's round)."""
    rows = await session.scalars(
        select(KbArticle.workspace_id).where(KbArticle.status == "published").distinct()
    )
    return sorted(rows.all())
