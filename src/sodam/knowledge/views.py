"""Console: the knowledge base editor (articles, alternate questions, categories) and the
content-gaps report. Plain forms that post and redirect (work without JavaScript);
the console's `console` dependency checks the session and the CSRF token; writing needs kb.edit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query
from fastapi.responses import RedirectResponse

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.core.errors import AppError
from sodam.core.pagination import MAX_ID
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import clock, engagement, hygiene, service, videos
from sodam.knowledge import settings as kb_settings
from sodam.knowledge.markdown import render as render_markdown

router = APIRouter(prefix="/console/kb", include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# Writing the knowledge base (and its gaps report) is for kb.edit: admins and supervisors (매니저).
edit_kb = console_access(Permission.kb_edit)


# Errors shown with their own status (the API's): a refused video line answers 422.
VIDEO_ERRORS = ("video_host_not_allowed", "invalid_video")


def error_text(ctx: Console, exc: AppError) -> str:
    """The service's error code in the agent's language (generic text for unknown codes)."""
    key = f"kb.error.{exc.code}"
    details = exc.details if isinstance(exc.details, dict) else {}
    text = ctx.t(key, line=details.get("line", ""), host=details.get("host", ""))
    return ctx.t("kb.error.generic") if text == key else text


def _form_status(exc: AppError) -> int:
    return exc.status_code if exc.code in VIDEO_ERRORS else 400


def _review_date(raw: str) -> datetime | None:
    """A yyyy-mm-dd from the editor's date field (None when empty or malformed)."""
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d").replace(hour=9, tzinfo=UTC) if raw.strip() else None
    except ValueError:
        return None


def _template_options(categories) -> list[dict]:
    return [
        {"id": c.id, "ko": (c.template or {}).get("ko", ""), "en": (c.template or {}).get("en", "")}
        for c in categories
    ]


def _questions(raw: str) -> list[str]:
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


def _category_id(raw: str) -> int | None:
    return int(raw) if raw.strip().isdigit() and 0 < int(raw) <= MAX_ID else None


async def page_base(ctx: Console) -> dict:
    workspace = await accounts.get_workspace(ctx.session, workspace_id=ctx.workspace_id)
    return {"section": "kb", "can_edit": ctx.can(Permission.kb_edit), "workspace_slug": workspace.slug}


def _with_frames(response, hosts: list[str]):
    """The page may frame only the allowed video players it shows."""
    response.headers["Content-Security-Policy"] = " ".join(
        ["frame-src 'self'", *(f"https://{h}" for h in hosts)]
    )
    return response


@router.get("")
async def articles_page(
    ctx: Console = Depends(console),
    status: Annotated[str | None, Query(pattern="^(draft|published)$")] = None,
    locale: Annotated[str | None, Query(pattern="^(ko|en)$")] = None,
    category: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
):
    """Every article (newest first) with filters."""
    categories = await kb_categories.list_categories(ctx.session, workspace_id=ctx.workspace_id)
    articles = await service.list_articles(
        ctx.session,
        workspace_id=ctx.workspace_id,
        status=status,
        locale=locale,
        category_id=category,
        query=(q or "").replace("\x00", "").strip() or None,
        limit=500,
    )
    return ctx.render(
        "knowledge/articles.html",
        {
            **await page_base(ctx),
            "articles": articles,
            "categories": {c.id: c for c in categories},
            "filters": {"status": status or "", "locale": locale or "", "category": category, "q": q or ""},
        },
    )


async def _editor(
    ctx: Console,
    article=None,
    *,
    form: dict | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code=200,
):
    categories = await kb_categories.list_categories(ctx.session, workspace_id=ctx.workspace_id)
    config = await kb_settings.get(ctx.session, workspace_id=ctx.workspace_id)
    preview_body = article.body if article else ""
    response = ctx.render(
        "knowledge/edit.html",
        {
            **await page_base(ctx),
            "article": article,
            "categories": categories,
            "template_options": _template_options(categories),
            "form": form
            or (
                {
                    "title": article.title,
                    "body": article.body,
                    "locale": article.locale,
                    "category_id": article.category_id,
                    "questions": "\n".join(q.text for q in article.alternate_questions),
                    "review_by": article.review_by.date().isoformat() if article.review_by else "",
                }
                if article
                else {
                    "title": "",
                    "body": "",
                    "locale": ctx.locale,
                    "category_id": None,
                    "questions": "",
                    "review_by": "",
                }
            ),
            "preview_html": render_markdown(
                preview_body, video_hosts=config.video_hosts, video_title=ctx.t("kb.video.title")
            )
            if article
            else "",
            "overdue": bool(article and article.review_by and article.review_by <= clock.now()),
            "review_days": config.review_days,
            "error": error,
            "notice": notice,
            "saved": ctx.request.query_params.get("saved"),
        },
        status_code=status_code,
    )
    return _with_frames(response, videos.frame_hosts(preview_body, config.video_hosts))


@router.get("/new")
async def new_article(
    ctx: Console = Depends(edit_kb),
    category: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    locale: Annotated[str | None, Query(pattern="^(ko|en)$")] = None,
):
    """A new article; `?category=` starts it from that category's template."""
    if category is None:
        return await _editor(ctx)
    lang = locale or ctx.locale
    body = await kb_categories.category_template(
        ctx.session, workspace_id=ctx.workspace_id, category_id=category, locale=lang
    )
    form = {
        "title": "",
        "body": body,
        "locale": lang,
        "category_id": category,
        "questions": "",
        "review_by": "",
    }
    return await _editor(ctx, form=form)


@router.post("/new")
async def create_article(
    ctx: Console = Depends(edit_kb),
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "ko",
    category_id: Annotated[str, Form()] = "",
    questions: Annotated[str, Form()] = "",
    review_by: Annotated[str, Form(max_length=20)] = "",
):
    """Create a draft (publishing is a separate, deliberate step)."""
    form = {
        "title": title,
        "body": body,
        "locale": locale,
        "category_id": _category_id(category_id),
        "questions": questions,
        "review_by": review_by,
    }
    try:
        article = await service.create_article(
            ctx.session,
            workspace_id=ctx.workspace_id,
            title=title,
            body=body.replace("\r\n", "\n"),
            locale=locale,
            category_id=form["category_id"],
            alternate_questions=_questions(questions),
            author_id=ctx.agent.id,
            review_by=_review_date(review_by),
            from_template=True,
        )
    except AppError as exc:
        return await _editor(ctx, form=form, error=error_text(ctx, exc), status_code=_form_status(exc))
    return RedirectResponse(f"/console/kb/articles/{article.id}?saved=1", status_code=303)


@router.get("/articles/{article_id}")
async def edit_article(article_id: Id, ctx: Console = Depends(console)):
    article = await service.get_article(ctx.session, workspace_id=ctx.workspace_id, article_id=article_id)
    return await _editor(ctx, article)


@router.post("/articles/{article_id}")
async def update_article(
    article_id: Id,
    ctx: Console = Depends(edit_kb),
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "ko",
    category_id: Annotated[str, Form()] = "",
    questions: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    review_by: Annotated[str, Form(max_length=20)] = "",
):
    article = await service.get_article(ctx.session, workspace_id=ctx.workspace_id, article_id=article_id)
    if text.strip() and text.strip() not in _questions(questions):
        # A wording typed in the "add" box and saved with the form (Enter without JavaScript).
        questions = f"{questions.rstrip()}\n{text.strip()}"
    form = {
        "title": title,
        "body": body,
        "locale": locale,
        "category_id": _category_id(category_id),
        "questions": questions,
        "review_by": review_by,
    }
    # A date the editor changed is kept; an unchanged one means "saving is a review" (moves on).
    stored = article.review_by.date().isoformat() if article.review_by else ""
    chosen = _review_date(review_by) if review_by.strip() and review_by.strip() != stored else service.UNSET
    try:
        await service.update_article(
            ctx.session,
            workspace_id=ctx.workspace_id,
            article_id=article.id,
            author_id=ctx.agent.id,
            title=title,
            body=body.replace("\r\n", "\n"),
            locale=locale,
            category_id=form["category_id"],
            alternate_questions=_questions(questions),
            review_by=chosen,
        )
    except AppError as exc:
        return await _editor(
            ctx, article, form=form, error=error_text(ctx, exc), status_code=_form_status(exc)
        )
    return RedirectResponse(f"/console/kb/articles/{article.id}?saved=1", status_code=303)


@router.post("/articles/{article_id}/reviewed")
async def mark_reviewed(
    article_id: Id, ctx: Console = Depends(edit_kb), next: Annotated[str, Form(max_length=40)] = ""
):
    """ "Still correct": the review-by date moves to today + the review period."""
    await service.mark_reviewed(
        ctx.session, workspace_id=ctx.workspace_id, article_id=article_id, author_id=ctx.agent.id
    )
    if next == "health":
        return RedirectResponse(f"/console/kb/health?reviewed={article_id}", status_code=303)
    return RedirectResponse(f"/console/kb/articles/{article_id}?saved=reviewed", status_code=303)


@router.post("/articles/{article_id}/publish")
async def publish(article_id: Id, ctx: Console = Depends(edit_kb)):
    await service.set_status(
        ctx.session,
        workspace_id=ctx.workspace_id,
        article_id=article_id,
        status="published",
        author_id=ctx.agent.id,
    )
    return RedirectResponse(f"/console/kb/articles/{article_id}?saved=published", status_code=303)


@router.post("/articles/{article_id}/unpublish")
async def unpublish(article_id: Id, ctx: Console = Depends(edit_kb)):
    await service.set_status(
        ctx.session,
        workspace_id=ctx.workspace_id,
        article_id=article_id,
        status="draft",
        author_id=ctx.agent.id,
    )
    return RedirectResponse(f"/console/kb/articles/{article_id}?saved=draft", status_code=303)


@router.post("/articles/{article_id}/questions")
async def add_question(
    article_id: Id,
    ctx: Console = Depends(edit_kb),
    text: Annotated[str, Form()] = "",
    title: Annotated[str | None, Form()] = None,
    body: Annotated[str | None, Form()] = None,
    locale: Annotated[str, Form()] = "ko",
    category_id: Annotated[str, Form()] = "",
    questions: Annotated[str, Form()] = "",
):
    """Add one "also asked as" wording. The button belongs to the editor's form, so what
    was typed in the editor arrives too and is shown again unsaved (never thrown away);
    without it (an older page) the article is shown as stored."""
    draft = None
    if title is not None or body is not None:
        draft = {
            "title": title or "",
            "body": (body or "").replace("\r\n", "\n"),
            "locale": locale,
            "category_id": _category_id(category_id),
            "questions": questions,
        }
    try:
        await service.add_alternate_question(
            ctx.session,
            workspace_id=ctx.workspace_id,
            article_id=article_id,
            text=text,
            author_id=ctx.agent.id,
        )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        article = await service.get_article(ctx.session, workspace_id=ctx.workspace_id, article_id=article_id)
        return await _editor(ctx, article, form=draft, error=error_text(ctx, exc), status_code=400)
    if draft is None:
        return RedirectResponse(f"/console/kb/articles/{article_id}?saved=1#questions", status_code=303)
    await ctx.session.commit()
    article = await service.get_article(ctx.session, workspace_id=ctx.workspace_id, article_id=article_id)
    await ctx.session.refresh(article, attribute_names=["alternate_questions"])  # with the new one
    typed = _questions(draft["questions"])
    # The new wording joins the editor's list too, so saving the form later keeps it.
    draft["questions"] = "\n".join(typed + ([text.strip()] if text.strip() not in typed else []))
    unchanged = (draft["title"], draft["body"], draft["locale"], draft["category_id"]) == (
        article.title,
        article.body,
        article.locale,
        article.category_id,
    ) and set(_questions(draft["questions"])) == {q.text for q in article.alternate_questions}
    if unchanged:
        return RedirectResponse(f"/console/kb/articles/{article_id}?saved=1#questions", status_code=303)
    return await _editor(ctx, article, form=draft, notice=ctx.t("kb.question.added_unsaved"))


@router.post("/articles/{article_id}/questions/{question_id}/delete")
async def remove_question(article_id: Id, question_id: Id, ctx: Console = Depends(edit_kb)):
    await service.remove_alternate_question(
        ctx.session,
        workspace_id=ctx.workspace_id,
        article_id=article_id,
        question_id=question_id,
        author_id=ctx.agent.id,
    )
    return RedirectResponse(f"/console/kb/articles/{article_id}?saved=1#questions", status_code=303)


@router.post("/articles/{article_id}/delete")
async def delete_article(article_id: Id, ctx: Console = Depends(edit_kb)):
    await service.delete_article(ctx.session, workspace_id=ctx.workspace_id, article_id=article_id)
    return RedirectResponse("/console/kb", status_code=303)


@router.get("/gaps")
async def gaps_page(ctx: Console = Depends(edit_kb), days: Annotated[int, Query(ge=1, le=365)] = 30):
    """Content gaps for 매니저: frequent searches with no results or mostly 👎 results."""
    gaps = await engagement.content_gaps(ctx.session, workspace_id=ctx.workspace_id, days=days)
    top = await engagement.most_searched(ctx.session, workspace_id=ctx.workspace_id, days=days, limit=10)
    viewed = await engagement.most_viewed(ctx.session, workspace_id=ctx.workspace_id, limit=10)
    return ctx.render(
        "knowledge/gaps.html",
        {**await page_base(ctx), "gaps": gaps, "most_searched": top, "most_viewed": viewed, "days": days},
    )


# -- health: what to fix first ------------------------------------------------------------
@router.get("/health")
async def health_page(
    ctx: Console = Depends(edit_kb),
    locale: Annotated[str | None, Query(pattern="^(ko|en)$")] = None,
):
    """Published articles ranked by what to fix first, with the reasons and a link to edit."""
    items = await hygiene.report(ctx.session, workspace_id=ctx.workspace_id, locale=locale, limit=200)
    config = await kb_settings.get(ctx.session, workspace_id=ctx.workspace_id)
    agents = {a.id: a for a in await accounts.list_agents(ctx.session, workspace_id=ctx.workspace_id)}
    categories = {
        c.id: c for c in await kb_categories.list_categories(ctx.session, workspace_id=ctx.workspace_id)
    }
    return ctx.render(
        "knowledge/health.html",
        {
            **await page_base(ctx),
            "items": items,
            "config": config,
            "agents": agents,
            "categories": categories,
            "filters": {"locale": locale or ""},
            "reviewed": ctx.request.query_params.get("reviewed"),
        },
    )


# -- settings -----------------------------------------------------------------------------
def _int(raw: str) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 7 else None


async def _settings_page(ctx: Console, *, form=None, error=None, status_code=200):
    config = await kb_settings.get(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "knowledge/settings.html",
        {
            **await page_base(ctx),
            "config": config,
            "form": form
            or {
                "video_hosts": "\n".join(config.video_hosts),
                "review_days": config.review_days,
                "stale_view_days": config.stale_view_days,
                "min_downvotes": config.min_downvotes,
                "handoff_days": config.handoff_days,
            },
            "default_hosts": videos.DEFAULT_VIDEO_HOSTS,
            "error": error,
            "saved": ctx.request.query_params.get("saved"),
        },
        status_code=status_code,
    )


@router.get("/settings")
async def settings_page(ctx: Console = Depends(edit_kb)):
    """The video allow-list, the review period and what makes an article stale."""
    return await _settings_page(ctx)


@router.post("/settings")
async def save_settings(
    ctx: Console = Depends(edit_kb),
    video_hosts: Annotated[str, Form(max_length=20_000)] = "",
    reset_video_hosts: Annotated[str, Form(max_length=10)] = "",
    review_days: Annotated[str, Form(max_length=10)] = "",
    stale_view_days: Annotated[str, Form(max_length=10)] = "",
    min_downvotes: Annotated[str, Form(max_length=10)] = "",
    handoff_days: Annotated[str, Form(max_length=10)] = "",
):
    form = {
        "video_hosts": video_hosts,
        "review_days": review_days,
        "stale_view_days": stale_view_days,
        "min_downvotes": min_downvotes,
        "handoff_days": handoff_days,
    }
    hosts = [h for h in video_hosts.replace(",", "\n").splitlines() if h.strip()]
    try:
        await kb_settings.save(
            ctx.session,
            workspace_id=ctx.workspace_id,
            video_hosts=hosts,
            reset_video_hosts=bool(reset_video_hosts),
            review_days=_int(review_days),
            stale_view_days=_int(stale_view_days),
            min_downvotes=_int(min_downvotes),
            handoff_days=_int(handoff_days),
        )
    except AppError as exc:
        return await _settings_page(ctx, form=form, error=error_text(ctx, exc), status_code=400)
    return RedirectResponse("/console/kb/settings?saved=1", status_code=303)
