"""The public help center of a workspace (/help/{slug}): server-rendered, ko/en, no login.

Visitors get an anonymous cookie (`sodam_hc_visitor`) so a vote counts once per
visitor. The vote form carries a token signed for that visitor id, and the cookie
is SameSite=Lax: a cross-site form cannot vote, and a replayed token only works
with its own cookie. Views, searches (query, locale, result count) and the result
a search led to (through the /click redirect) are recorded for the console's
most-viewed / most-searched lists and content-gap report.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.models import Workspace
from sodam.channels import service as inboxes
from sodam.config import get_settings
from sodam.core.deps import get_session
from sodam.core.errors import Forbidden, NotFound
from sodam.core.i18n import LOCALES, gettext, negotiate, normalise
from sodam.core.pagination import MAX_ID
from sodam.core.ratelimit import RateLimited, client_ip, enforce
from sodam.core.security import Signer
from sodam.core.templating import render
from sodam.db.session import session_scope
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import engagement, service, videos
from sodam.knowledge import settings as kb_settings
from sodam.knowledge.markdown import render as render_markdown
from sodam.nlp.language import detect

router = APIRouter(prefix="/help", include_in_schema=False)

VISITOR_COOKIE = "sodam_hc_visitor"
LANG_COOKIE = "sodam_hc_lang"
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def _signer() -> Signer:
    return Signer(get_settings().resolved_secret_key(), salt="sodam.helpcenter-vote")


def page_locale(request: Request) -> str:
    """?lang= first, then the visitor's earlier choice, then Accept-Language."""
    lang = request.query_params.get("lang")
    if lang in LOCALES:
        return lang
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in LOCALES:
        return remembered
    return negotiate(request.headers.get("accept-language"))


def visitor_id(request: Request) -> tuple[str, bool]:
    """(the visitor's anonymous id, whether it is new and must be set as a cookie)."""
    raw = request.cookies.get(VISITOR_COOKIE) or ""
    if 16 <= len(raw) <= 64 and raw.replace("-", "").replace("_", "").isalnum():
        return raw, False
    fresh = getattr(request.state, "hc_visitor", None)  # one new id per request, however often asked
    if fresh is None:
        fresh = request.state.hc_visitor = secrets.token_urlsafe(18)
    return fresh, True


class HelpCenterMissing(NotFound):
    code = "help_center_not_found"


async def _workspace(session: AsyncSession, slug: str, locale: str) -> Workspace:
    workspace = await accounts.get_workspace_by_slug(session, slug=slug[:80])
    if workspace is None:
        raise HelpCenterMissing(gettext(locale, "help.error.not_found"))
    return workspace


def missing_page(request: Request, exc: Exception | None = None):
    """An HTML 404 for browsers (unknown help center or unpublished article)."""
    locale = page_locale(request)
    return render(request, "helpcenter/missing.html", {"workspace": None}, locale=locale, status_code=404)


async def _page(
    request: Request,
    name: str,
    context: dict,
    *,
    locale: str,
    status_code: int = 200,
    frame_hosts: list[str] = (),
):
    """A help-center page. Its CSP lets it frame only itself and the allowed video players
    its article shows (`frame_hosts`), whatever a body might try."""
    visitor, new = visitor_id(request)
    ws: Workspace = context["workspace"]
    async with session_scope() as session:
        # The chat widget, when an inbox is set to appear on the help center.
        chat_inbox = await inboxes.helpcenter_inbox_token(session, workspace_id=ws.id)
    response = render(
        request,
        name,
        {
            "base": f"/help/{ws.slug}",
            "lang_query": urlencode({"lang": locale}),
            "other_locale": "en" if locale == "ko" else "ko",
            "visitor": visitor,
            "chat_inbox": chat_inbox,
            **context,
        },
        locale=locale,
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = " ".join(
        ["frame-src 'self'", *(f"https://{h}" for h in frame_hosts)]
    )
    options = {"httponly": True, "samesite": "lax", "secure": get_settings().secure_cookies}
    if new:
        response.set_cookie(VISITOR_COOKIE, visitor, max_age=365 * 24 * 3600, path="/help", **options)
    if request.query_params.get("lang") in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, path="/help", **options)
    return response


async def _limited(request: Request, workspace: Workspace, locale: str, rule: str):
    """None when this IP is within the workspace's limit, else a 429 page with Retry-After."""
    try:
        await enforce(request, (rule, client_ip(request)), workspace_id=workspace.id)
    except RateLimited as exc:
        wait = exc.decision.retry_after
        response = await _page(
            request,
            "helpcenter/limited.html",
            {"workspace": workspace, "seconds": wait},
            locale=locale,
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    return None


@router.get("/{slug}")
async def home(request: Request, slug: str, session: Session):
    """Categories with their articles, the most viewed articles and the most searched questions."""
    locale = page_locale(request)
    workspace = await _workspace(session, slug, locale)
    categories = await kb_categories.list_categories(session, workspace_id=workspace.id)
    articles = await service.list_articles(
        session, workspace_id=workspace.id, status="published", locale=locale, limit=500
    )
    by_category: dict[int | None, list] = {}
    for article in sorted(articles, key=lambda a: a.title):
        by_category.setdefault(article.category_id, []).append(article)
    return await _page(
        request,
        "helpcenter/home.html",
        {
            "workspace": workspace,
            "categories": [c for c in categories if by_category.get(c.id)],
            "by_category": by_category,
            "uncategorised": by_category.get(None, []),
            "most_viewed": await engagement.most_viewed(session, workspace_id=workspace.id, locale=locale),
            "most_searched": await engagement.most_searched(
                session, workspace_id=workspace.id, locale=locale
            ),
        },
        locale=locale,
    )


@router.get("/{slug}/search")
async def search(
    request: Request,
    slug: str,
    session: Session,
    q: Annotated[str, Query(max_length=500)] = "",
):
    """Search with the same matching the bot uses; every non-empty search is logged."""
    locale = page_locale(request)
    workspace = await _workspace(session, slug, locale)
    if limited := await _limited(request, workspace, locale, "helpcenter_search_ip"):
        return limited
    # A Korean question typed on the English page (or the reverse) searches the articles of its language.
    asked_in = detect(q, default=None) if q.strip() else None
    search_locale = asked_in if asked_in in LOCALES else locale
    result = await service.search(session, workspace_id=workspace.id, query=q, locale=search_locale, limit=10)
    logged = await engagement.record_search(session, workspace_id=workspace.id, result=result)
    categories = {c.id: c for c in await kb_categories.list_categories(session, workspace_id=workspace.id)}
    return await _page(
        request,
        "helpcenter/search.html",
        {
            "workspace": workspace,
            "q": result.query,
            "hits": result.hits,
            "search_id": logged.id if logged else None,
            "categories": categories,
        },
        locale=locale,
    )


@router.get("/{slug}/click")
async def click(
    request: Request,
    slug: str,
    session: Session,
    a: Annotated[int, Query(ge=1, le=MAX_ID)],
    s: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    """A search result's link: remember which article the search led to, then show it."""
    locale = page_locale(request)
    workspace = await _workspace(session, slug, locale)
    if s is not None:
        await engagement.record_click(session, workspace_id=workspace.id, search_id=s, article_id=a)
    return RedirectResponse(
        f"/help/{workspace.slug}/articles/{a}?{urlencode({'lang': locale})}", status_code=303
    )


@router.get("/{slug}/articles/{article_id}")
async def article_page(request: Request, slug: str, article_id: Id, session: Session):
    locale = page_locale(request)
    workspace = await _workspace(session, slug, locale)
    try:
        article = await service.get_published(session, workspace_id=workspace.id, article_id=article_id)
    except NotFound:
        return missing_page(request)
    if not request.query_params.get("voted"):  # the page shown after a vote is not another view
        await engagement.record_view(session, workspace_id=workspace.id, article_id=article.id)
    category = None
    if article.category_id is not None:
        category = await kb_categories.get_category(
            session, workspace_id=workspace.id, category_id=article.category_id
        )
    visitor, _new = visitor_id(request)
    hosts = (await kb_settings.get(session, workspace_id=workspace.id)).video_hosts
    article_locale = normalise(article.locale)
    return await _page(
        request,
        "helpcenter/article.html",
        {
            "workspace": workspace,
            "article": article,
            "category": category,
            "body_html": render_markdown(
                article.body, video_hosts=hosts, video_title=gettext(article_locale, "kb.video.title")
            ),
            "vote_token": _signer().dumps({"v": visitor, "a": article.id}),
            "voted": request.query_params.get("voted"),
        },
        # The article's own language: a Korean article's page speaks Korean.
        locale=article_locale,
        frame_hosts=videos.frame_hosts(article.body, hosts),
    )


@router.post("/{slug}/articles/{article_id}/vote")
async def vote(
    request: Request,
    slug: str,
    article_id: Id,
    session: Session,
    helpful: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
):
    """👍 / 👎 once per visitor (a second vote replaces the first)."""
    locale = page_locale(request)
    workspace = await _workspace(session, slug, locale)
    if limited := await _limited(request, workspace, locale, "helpcenter_vote_ip"):
        return limited
    visitor = request.cookies.get(VISITOR_COOKIE) or ""
    signed = _signer().loads(token, max_age=24 * 3600) if token else None
    if (
        not visitor
        or not isinstance(signed, dict)
        or signed.get("v") != visitor
        or signed.get("a") != article_id
        or helpful not in ("yes", "no")
    ):
        raise Forbidden(gettext(locale, "help.error.vote"), code="vote_refused")
    await engagement.vote(
        session, workspace_id=workspace.id, article_id=article_id, visitor=visitor, helpful=helpful == "yes"
    )
    return RedirectResponse(
        f"/help/{workspace.slug}/articles/{article_id}?voted={helpful}#vote", status_code=303
    )


async def _missing(request: Request, exc: HelpCenterMissing):
    return missing_page(request, exc)


def install(app) -> None:
    """The help center's routes, and an HTML 404 for an unknown help center."""
    app.add_exception_handler(HelpCenterMissing, _missing)
    app.include_router(router)
