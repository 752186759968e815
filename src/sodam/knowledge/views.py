"""Console: the knowledge base editor (articles, alternate questions, categories) and the
content-gaps report. Plain forms that post and redirect (work without JavaScript);
the console's `console` dependency checks the session and the CSRF token; writing needs kb.edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query
from fastapi.responses import RedirectResponse

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.core.errors import AppError
from sodam.core.pagination import MAX_ID
from sodam.knowledge import service
from sodam.knowledge.markdown import render as render_markdown

router = APIRouter(prefix="/console/kb", include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# Writing the knowledge base (and its gaps report) is for kb.edit: admins and supervisors (매니저).
edit_kb = console_access(Permission.kb_edit)


def error_text(ctx: Console, exc: AppError) -> str:
    """The service's error code in the agent's language (generic text for unknown codes)."""
    key = f"kb.error.{exc.code}"
    text = ctx.t(key)
    return ctx.t("kb.error.generic") if text == key else text


def _questions(raw: str) -> list[str]:
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


def _category_id(raw: str) -> int | None:
    return int(raw) if raw.strip().isdigit() and 0 < int(raw) <= MAX_ID else None


async def _base(ctx: Console) -> dict:
    workspace = await accounts.get_workspace(ctx.session, workspace_id=ctx.workspace_id)
    return {"section": "kb", "can_edit": ctx.can(Permission.kb_edit), "workspace_slug": workspace.slug}


@router.get("")
async def articles_page(
    ctx: Console = Depends(console),
    status: Annotated[str | None, Query(pattern="^(draft|published)$")] = None,
    locale: Annotated[str | None, Query(pattern="^(ko|en)$")] = None,
    category: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
):
    """Every article (newest first) with filters."""
    categories = await service.list_categories(ctx.session, workspace_id=ctx.workspace_id)
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
            **await _base(ctx),
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
    categories = await service.list_categories(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "knowledge/edit.html",
        {
            **await _base(ctx),
            "article": article,
            "categories": categories,
            "form": form
            or (
                {
                    "title": article.title,
                    "body": article.body,
                    "locale": article.locale,
                    "category_id": article.category_id,
                    "questions": "\n".join(q.text for q in article.alternate_questions),
                }
                if article
                else {"title": "", "body": "", "locale": ctx.locale, "category_id": None, "questions": ""}
            ),
            "preview_html": render_markdown(article.body) if article else "",
            "error": error,
            "notice": notice,
            "saved": ctx.request.query_params.get("saved"),
        },
        status_code=status_code,
    )


@router.get("/new")
async def new_article(ctx: Console = Depends(edit_kb)):
    return await _editor(ctx)


@router.post("/new")
async def create_article(
    ctx: Console = Depends(edit_kb),
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "ko",
    category_id: Annotated[str, Form()] = "",
    questions: Annotated[str, Form()] = "",
):
    """Create a draft (publishing is a separate, deliberate step)."""
    form = {
        "title": title,
        "body": body,
        "locale": locale,
        "category_id": _category_id(category_id),
        "questions": questions,
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
        )
    except AppError as exc:
        return await _editor(ctx, form=form, error=error_text(ctx, exc), status_code=400)
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
    }
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
        )
    except AppError as exc:
        return await _editor(ctx, article, form=form, error=error_text(ctx, exc), status_code=400)
    return RedirectResponse(f"/console/kb/articles/{article.id}?saved=1", status_code=303)


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


async def _categories_page(ctx: Console, *, error: str | None = None, status_code: int = 200):
    categories = await service.list_categories(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "knowledge/categories.html",
        {**await _base(ctx), "categories": categories, "error": error},
        status_code=status_code,
    )


@router.get("/categories")
async def categories_page(ctx: Console = Depends(console)):
    return await _categories_page(ctx)


@router.post("/categories")
async def create_category(
    ctx: Console = Depends(edit_kb),
    slug: Annotated[str, Form()] = "",
    name_ko: Annotated[str, Form()] = "",
    name_en: Annotated[str, Form()] = "",
):
    try:
        await service.create_category(
            ctx.session, workspace_id=ctx.workspace_id, slug=slug, names={"ko": name_ko, "en": name_en}
        )
    except AppError as exc:
        return await _categories_page(ctx, error=error_text(ctx, exc), status_code=400)
    return RedirectResponse("/console/kb/categories", status_code=303)


@router.post("/categories/{category_id}")
async def update_category(
    category_id: Id,
    ctx: Console = Depends(edit_kb),
    name_ko: Annotated[str, Form()] = "",
    name_en: Annotated[str, Form()] = "",
    position: Annotated[int, Form(ge=0, le=1_000_000)] = 0,
):
    try:
        await service.update_category(
            ctx.session,
            workspace_id=ctx.workspace_id,
            category_id=category_id,
            names={"ko": name_ko, "en": name_en},
            position=position,
        )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return await _categories_page(ctx, error=error_text(ctx, exc), status_code=400)
    return RedirectResponse("/console/kb/categories", status_code=303)


@router.post("/categories/{category_id}/delete")
async def delete_category(category_id: Id, ctx: Console = Depends(edit_kb)):
    await service.delete_category(ctx.session, workspace_id=ctx.workspace_id, category_id=category_id)
    return RedirectResponse("/console/kb/categories", status_code=303)


@router.get("/gaps")
async def gaps_page(ctx: Console = Depends(edit_kb), days: Annotated[int, Query(ge=1, le=365)] = 30):
    """Content gaps for 매니저: frequent searches with no results or mostly 👎 results."""
    gaps = await service.content_gaps(ctx.session, workspace_id=ctx.workspace_id, days=days)
    top = await service.most_searched(ctx.session, workspace_id=ctx.workspace_id, days=days, limit=10)
    viewed = await service.most_viewed(ctx.session, workspace_id=ctx.workspace_id, limit=10)
    return ctx.render(
        "knowledge/gaps.html",
        {**await _base(ctx), "gaps": gaps, "most_searched": top, "most_viewed": viewed, "days": days},
    )
