"""Console: the knowledge base's categories (ko/en names, order) and each category's article
template. Writing needs kb.edit, like the article editor (`views`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse

from sodam.accounts.sessions import Console, console
from sodam.core.errors import AppError
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import templates
from sodam.knowledge.views import Id, edit_kb, error_text, page_base

router = APIRouter(prefix="/console/kb", include_in_schema=False)


async def _categories_page(ctx: Console, *, error: str | None = None, status_code: int = 200):
    categories = await kb_categories.list_categories(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "knowledge/categories.html",
        {**await page_base(ctx), "categories": categories, "error": error},
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
        await kb_categories.create_category(
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
        await kb_categories.update_category(
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
    await kb_categories.delete_category(ctx.session, workspace_id=ctx.workspace_id, category_id=category_id)
    return RedirectResponse("/console/kb/categories", status_code=303)


async def _template_page(ctx: Console, category, *, form=None, error=None, status_code=200):
    return ctx.render(
        "knowledge/template.html",
        {
            **await page_base(ctx),
            "category": category,
            "form": form
            or {"ko": (category.template or {}).get("ko", ""), "en": (category.template or {}).get("en", "")},
            "builtins": templates.BUILTIN_NAMES,
            "error": error,
            "saved": ctx.request.query_params.get("saved"),
        },
        status_code=status_code,
    )


@router.get("/categories/{category_id}/template")
async def template_page(category_id: Id, ctx: Console = Depends(console)):
    """The category's article template (ko/en), with the built-in ones to start from."""
    category = await kb_categories.get_category(
        ctx.session, workspace_id=ctx.workspace_id, category_id=category_id
    )
    return await _template_page(ctx, category)


@router.post("/categories/{category_id}/template")
async def save_template(
    category_id: Id,
    ctx: Console = Depends(edit_kb),
    template_ko: Annotated[str, Form()] = "",
    template_en: Annotated[str, Form()] = "",
    builtin: Annotated[str, Form(max_length=40)] = "",
):
    """Save the template, or replace it with a built-in one (`builtin`)."""
    category = await kb_categories.get_category(
        ctx.session, workspace_id=ctx.workspace_id, category_id=category_id
    )
    form = {"ko": template_ko, "en": template_en}
    try:
        chosen = templates.builtin(builtin) if builtin else form
        await kb_categories.update_category(
            ctx.session, workspace_id=ctx.workspace_id, category_id=category.id, template=chosen
        )
    except AppError as exc:
        return await _template_page(ctx, category, form=form, error=error_text(ctx, exc), status_code=400)
    return RedirectResponse(f"/console/kb/categories/{category.id}/template?saved=1", status_code=303)
