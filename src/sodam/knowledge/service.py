"""Knowledge base services: categories, articles, alternate questions, and `search` — the one
matching path the help center and the bot share (the help center's views, votes and search
log are in `engagement`). Services never commit: the caller owns the transaction."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.core.errors import Invalid, NotFound
from sodam.knowledge import clock, index, videos
from sodam.knowledge import settings as kb_settings
from sodam.knowledge.categories import UNSET, category_template, get_category
from sodam.knowledge.models import (
    ARTICLE_LOCALES,
    STATUSES,
    KbAlternateQuestion,
    KbArticle,
)
from sodam.nlp.fusion import MIN_Z_ARTICLES
from sodam.nlp.language import detect
from sodam.nlp.ranking import Confidence

MAX_QUERY_CHARS = 200
MAX_QUESTIONS = 50
# A hit is shown only when this share of the query's weighted terms is found in it;
# below that, character n-grams alone make almost anything "match".
MIN_COVERAGE = 0.18
MIN_FUSED = 0.05  # answer probability under which an article is not listed (fused ranking)
# A base of fewer than MIN_Z_ARTICLES articles in a language reads its probabilities mostly
# against a shipped background (nlp.fusion._decision_z; before it every article had a right top
# one's standing, an unrelated one read 0.05–0.2, and "콘서트 티켓 파나요?" listed all three of a
# three-article base), and they still spread less than a larger base's. In such a base an
# article is listed when the bot would offer it (FUSED_CHOICES_AT), or when it shares the
# query's terms (MIN_COVERAGE) at SMALL_BASE_MIN_FUSED or more ("order" lists the two articles
# about orders; "How do I track my order?", sharing only "how do I … my order", lists none).
SMALL_BASE_MIN_FUSED = 0.1
_SPACE = re.compile(r"\s+")


# -- articles ---------------------------------------------------------------------------
def _check_article_fields(*, title: str | None, locale: str | None, status: str | None) -> None:
    if title is not None and not title.strip():
        raise Invalid("an article needs a title", code="title_required")
    if locale is not None and locale not in ARTICLE_LOCALES:
        raise Invalid("locale must be ko or en", code="invalid_locale")
    if status is not None and status not in STATUSES:
        raise Invalid("status must be draft or published", code="invalid_status")


def _clean_questions(questions: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for q in questions:
        text = _SPACE.sub(" ", (q or "").strip())[:500]
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    if len(out) > MAX_QUESTIONS:
        raise Invalid(f"at most {MAX_QUESTIONS} alternate questions", code="too_many_questions")
    return out


async def list_articles(
    session: AsyncSession,
    *,
    workspace_id: int,
    status: str | None = None,
    locale: str | None = None,
    category_id: int | None = None,
    query: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[KbArticle]:
    """Articles, newest first (keyset by id); `query` filters titles by substring."""
    stmt = select(KbArticle).where(KbArticle.workspace_id == workspace_id)
    if status:
        stmt = stmt.where(KbArticle.status == status)
    if locale:
        stmt = stmt.where(KbArticle.locale == locale)
    if category_id is not None:
        stmt = stmt.where(KbArticle.category_id == category_id)
    if query:
        stmt = stmt.where(KbArticle.title.ilike("%" + query.replace("%", r"\%").replace("_", r"\_") + "%"))
    if after_id is not None:
        stmt = stmt.where(KbArticle.id < after_id)
    return list((await session.scalars(stmt.order_by(KbArticle.id.desc()).limit(limit))).all())


async def get_article(session: AsyncSession, *, workspace_id: int, article_id: int) -> KbArticle:
    """An article of this workspace (any status); 404 for another workspace's id."""
    article = await session.get(KbArticle, article_id)
    if article is None or article.workspace_id != workspace_id:
        raise NotFound("article not found")
    return article


async def get_published(session: AsyncSession, *, workspace_id: int, article_id: int) -> KbArticle:
    """A published article (the help center never shows drafts)."""
    article = await get_article(session, workspace_id=workspace_id, article_id=article_id)
    if article.status != "published":
        raise NotFound("article not found")
    return article


async def _check_category(session: AsyncSession, workspace_id: int, category_id: int | None) -> None:
    if category_id is not None:
        await get_category(session, workspace_id=workspace_id, category_id=category_id)


async def create_article(
    session: AsyncSession,
    *,
    workspace_id: int,
    title: str,
    body: str = "",
    locale: str = "ko",
    category_id: int | None = None,
    status: str = "draft",
    alternate_questions: Sequence[str] = (),
    author_id: int | None = None,
    review_by: datetime | None = None,
    from_template: bool = False,
) -> KbArticle:
    """Create an article (markdown body) with its alternate questions.

    `from_template`: an empty body starts from the category's template in `locale`. The
    review-by date is `review_by` or today + the workspace's review period. A video line
    from a host off the allow-list is refused (422 naming the line).
    """
    _check_article_fields(title=title, locale=locale, status=status)
    await _check_category(session, workspace_id, category_id)
    if from_template and not (body or "").strip():
        body = await category_template(
            session, workspace_id=workspace_id, category_id=category_id, locale=locale
        )
    config = await kb_settings.get(session, workspace_id=workspace_id)
    videos.check(body or "", config.video_hosts)
    now = datetime.now(UTC)
    article = KbArticle(
        workspace_id=workspace_id,
        title=title.strip()[:300],
        body=body or "",
        locale=locale,
        category_id=category_id,
        status=status,
        author_id=author_id,
        updated_at=now,
        published_at=clock.now() if status == "published" else None,
        review_by=_review_date(review_by) or clock.now() + timedelta(days=config.review_days),
        alternate_questions=[
            KbAlternateQuestion(workspace_id=workspace_id, text=q)
            for q in _clean_questions(alternate_questions)
        ],
    )
    session.add(article)
    await session.flush()
    await index.changed(session, workspace_id=workspace_id, article_id=article.id)
    return article


async def update_article(
    session: AsyncSession,
    *,
    workspace_id: int,
    article_id: int,
    author_id: int | None = None,
    title: str = UNSET,
    body: str = UNSET,
    locale: str = UNSET,
    category_id: int | None = UNSET,
    status: str = UNSET,
    alternate_questions: Sequence[str] = UNSET,
    review_by: datetime | None = UNSET,
) -> KbArticle:
    """Change the fields given; `alternate_questions` replaces the whole list.

    Saving the title or body counts as a review: the review-by date moves to today + the
    workspace's review period unless `review_by` is given. A video line from a host off the
    allow-list is refused (422 naming the line).
    """
    article = await get_article(session, workspace_id=workspace_id, article_id=article_id)
    config = await kb_settings.get(session, workspace_id=workspace_id)
    if body is not UNSET and (body or "") != article.body:
        videos.check(body or "", config.video_hosts)
    if review_by is not UNSET and review_by is not None:
        article.review_by = _review_date(review_by)
    elif title is not UNSET or body is not UNSET:
        article.review_by = clock.now() + timedelta(days=config.review_days)
    _check_article_fields(
        title=None if title is UNSET else title,
        locale=None if locale is UNSET else locale,
        status=None if status is UNSET else status,
    )
    if title is not UNSET:
        article.title = title.strip()[:300]
    if body is not UNSET:
        article.body = body or ""
    if locale is not UNSET:
        article.locale = locale
    if category_id is not UNSET:
        await _check_category(session, workspace_id, category_id)
        article.category_id = category_id
    if status is not UNSET:
        if status == "published" and article.status != "published":
            article.published_at = clock.now()
        article.status = status
    if alternate_questions is not UNSET:
        wanted = _clean_questions(alternate_questions)
        keep = {q.text: q for q in article.alternate_questions}
        article.alternate_questions = [
            keep.get(text) or KbAlternateQuestion(workspace_id=workspace_id, text=text) for text in wanted
        ]
    await _touch(session, article, author_id)
    return article


def _review_date(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2200, 1, 1, tzinfo=UTC):
        raise Invalid("the review-by date is out of range", code="invalid_review_by")
    return value


async def mark_reviewed(
    session: AsyncSession, *, workspace_id: int, article_id: int, author_id: int | None = None
) -> KbArticle:
    """ "Still correct": the review-by date moves to today + the review period."""
    article = await get_article(session, workspace_id=workspace_id, article_id=article_id)
    config = await kb_settings.get(session, workspace_id=workspace_id)
    article.review_by = clock.now() + timedelta(days=config.review_days)
    await _touch(session, article, author_id)
    return article


async def set_status(
    session: AsyncSession, *, workspace_id: int, article_id: int, status: str, author_id: int | None = None
) -> KbArticle:
    """Publish or unpublish."""
    return await update_article(
        session, workspace_id=workspace_id, article_id=article_id, status=status, author_id=author_id
    )


async def delete_article(session: AsyncSession, *, workspace_id: int, article_id: int) -> None:
    article = await get_article(session, workspace_id=workspace_id, article_id=article_id)
    await session.delete(article)
    await session.flush()
    await index.changed(session, workspace_id=workspace_id, article_id=article_id)


async def add_alternate_question(
    session: AsyncSession, *, workspace_id: int, article_id: int, text: str, author_id: int | None = None
) -> KbAlternateQuestion:
    """Add one "also asked as" wording (the bot's learning loop calls this too)."""
    article = await get_article(session, workspace_id=workspace_id, article_id=article_id)
    cleaned = _clean_questions([text])
    if not cleaned:
        raise Invalid("the question is empty", code="question_required")
    for existing in article.alternate_questions:
        if existing.text.lower() == cleaned[0].lower():
            return existing
    if len(article.alternate_questions) >= MAX_QUESTIONS:
        raise Invalid(f"at most {MAX_QUESTIONS} alternate questions", code="too_many_questions")
    question = KbAlternateQuestion(workspace_id=workspace_id, text=cleaned[0])
    article.alternate_questions.append(question)
    await _touch(session, article, author_id)
    return question


async def remove_alternate_question(
    session: AsyncSession,
    *,
    workspace_id: int,
    article_id: int,
    question_id: int,
    author_id: int | None = None,
) -> None:
    article = await get_article(session, workspace_id=workspace_id, article_id=article_id)
    question = next((q for q in article.alternate_questions if q.id == question_id), None)
    if question is None:
        raise NotFound("question not found")
    article.alternate_questions.remove(question)
    await _touch(session, article, author_id)


async def _touch(session: AsyncSession, article: KbArticle, author_id: int | None) -> None:
    """Every change moves updated_at (the index signature relies on it) and tells every process."""
    article.updated_at = datetime.now(UTC)
    if author_id is not None:
        article.author_id = author_id
    await session.flush()
    await index.changed(session, workspace_id=article.workspace_id, article_id=article.id)


# -- matching (help center and bot) -----------------------------------------------------
@dataclass(frozen=True)
class KbHit:
    article_id: int
    title: str
    locale: str
    category_id: int | None
    snippet: str
    score: float
    coverage: float
    lacks: float = 0.0  # the share of the question's topic words the article lacks (SearchHit.lacks)


@dataclass(frozen=True)
class KbSearchResult:
    query: str
    locale: str
    hits: list[KbHit]
    confidence: Confidence

    @property
    def decision(self) -> str:
        """ "answer", "choices" or "handoff" (see sodam.nlp.ranking.Confidence.decision)."""
        return self.confidence.decision() if self.hits else "handoff"


def clean_query(query: str) -> str:
    return _SPACE.sub(" ", (query or "").replace("\x00", "")).strip()[:MAX_QUERY_CHARS]


async def load_index(session: AsyncSession, *, workspace_id: int) -> None:
    """Build the workspace's search index in this process now, ahead of its first search."""
    await index.registry.get(session, workspace_id)


def start_search(workspace_id: int, query: str, locale: str) -> None:
    """Start the CPU work of a search that is coming (the query's encoding: the largest part),
    so that it runs while the caller still reads the database; search() then picks it up.
    CPU work: call it in a thread. Does nothing before this process has the workspace's index
    (its first search builds it)."""
    idx = index.registry.peek(workspace_id)
    if idx is not None and locale in ARTICLE_LOCALES:
        idx.start_encoding(clean_query(query), locale)


async def search(
    session: AsyncSession, *, workspace_id: int, query: str, locale: str | None = None, limit: int = 10
) -> KbSearchResult:
    """Published articles matching `query` in `locale` (detected from the query when None).

    The help center and the bot both call this, so a customer gets the same answer
    from either. Hits whose coverage is below MIN_COVERAGE are left out; the
    confidence (coverage, margin) is the ranking's, for the bot's answer/choices/handoff.
    """
    text = clean_query(query)
    # Detection is CPU work (lingua) for text without Hangul: off the event loop.
    lang = locale if locale in ARTICLE_LOCALES else await asyncio.to_thread(detect, text, None)
    lang = lang if lang in ARTICLE_LOCALES else "ko"
    if not text:
        return KbSearchResult(text, lang, [], Confidence(0.0, 0.0, 0.0, 0.0))
    idx = await index.registry.get(session, workspace_id)
    # Ranking and the query's encoding are CPU work: off the event loop.
    result = await asyncio.to_thread(idx.query, text, lang, max(limit, 3))
    if result is None:
        return KbSearchResult(text, lang, [], Confidence(0.0, 0.0, 0.0, 0.0))
    hits = []
    small = len(idx.by_locale.get(lang) or ()) < MIN_Z_ARTICLES
    for hit in result.hits:
        coverage = max(hit.question_coverage, hit.body_coverage)
        known = idx.articles.get(int(hit.doc_id))
        if known is None or not _relevant(result.confidence, hit.score, coverage, small):
            continue
        hits.append(
            KbHit(
                known.id,
                known.title,
                known.locale,
                known.category_id,
                known.snippet,
                hit.score,
                coverage,
                hit.lacks,
            )
        )
    hits = await _with_feedback(session, workspace_id, hits)
    return KbSearchResult(text, lang, hits[:limit], result.confidence)


def _relevant(confidence: Confidence, score: float, coverage: float, small_base: bool) -> bool:
    """Whether a hit is listed at all. Lexical ranking lists anything sharing a term: keep what
    covers enough of the query. The fused ranking weighs meaning and terms together; in a small
    base its probabilities are not comparable across articles (see SMALL_BASE_MIN_FUSED)."""
    if confidence.mode != "fused":
        return coverage >= MIN_COVERAGE
    if small_base:
        return score >= confidence.FUSED_CHOICES_AT or (
            coverage >= MIN_COVERAGE and score >= SMALL_BASE_MIN_FUSED
        )
    return score >= MIN_FUSED or coverage >= MIN_COVERAGE


# Feedback prior: helpful votes + the bot's confirmed answers against 👎 + the bot's "no",
# smoothed as if every article started with PRIOR_VOTES votes split evenly, then turned
# into a score factor within 1 ± FEEDBACK_WEIGHT. Lexical relevance decides; feedback
# only reorders near-ties (one vote moves a score by under 1 %).
PRIOR_VOTES = 10
FEEDBACK_WEIGHT = 0.1


def feedback_factor(up: int, down: int) -> float:
    """The multiplicative boost for an article's feedback (1.0 with none)."""
    share = (up + PRIOR_VOTES / 2) / (up + down + PRIOR_VOTES)
    return 1.0 + FEEDBACK_WEIGHT * (2 * share - 1)


# Built once: the bot's searches read it on most questions.
_FEEDBACK_COUNTS = select(
    KbArticle.id,
    KbArticle.helpful_count + KbArticle.bot_confirmed_count,
    KbArticle.not_helpful_count + KbArticle.bot_unhelpful_count,
).where(
    KbArticle.workspace_id == bindparam("workspace_id"), KbArticle.id.in_(bindparam("ids", expanding=True))
)


async def _with_feedback(session: AsyncSession, workspace_id: int, hits: list[KbHit]) -> list[KbHit]:
    """Hits re-scored by feedback_factor and re-sorted (the confidence stays the lexical one).

    The counters are read only when feedback could change the order (two hits within
    the factors' spread of each other): most searches pay no extra round trip.
    """
    spread = (1 + FEEDBACK_WEIGHT) / (1 - FEEDBACK_WEIGHT)
    if all(a.score > b.score * spread for a, b in zip(hits, hits[1:], strict=False)):
        return hits
    rows = await session.execute(
        _FEEDBACK_COUNTS, {"workspace_id": workspace_id, "ids": [h.article_id for h in hits]}
    )
    factors = {r[0]: feedback_factor(r[1], r[2]) for r in rows}
    boosted = [replace(h, score=h.score * factors.get(h.article_id, 1.0)) for h in hits]
    return sorted(boosted, key=lambda h: -h.score)
