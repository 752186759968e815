"""Knowledge base categories: ko/en names, a URL slug, their order, and each one's article
template. Services never commit: the caller owns the transaction."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.knowledge import index, templates
from sodam.knowledge.models import ARTICLE_LOCALES, KbCategory

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class _Unset:
    pass


UNSET: Any = _Unset()  # "not given" for partial updates (None may be a value)


async def list_categories(session: AsyncSession, *, workspace_id: int) -> list[KbCategory]:
    """Categories in display order."""
    rows = await session.scalars(
        select(KbCategory)
        .where(KbCategory.workspace_id == workspace_id)
        .order_by(KbCategory.position, KbCategory.id)
    )
    return list(rows.all())


async def get_category(session: AsyncSession, *, workspace_id: int, category_id: int) -> KbCategory:
    """A category of this workspace; 404 for another workspace's id."""
    category = await session.get(KbCategory, category_id)
    if category is None or category.workspace_id != workspace_id:
        raise NotFound("category not found")
    return category


async def get_category_by_slug(session: AsyncSession, *, workspace_id: int, slug: str) -> KbCategory | None:
    return await session.scalar(
        select(KbCategory).where(KbCategory.workspace_id == workspace_id, KbCategory.slug == slug)
    )


def _clean_names(names: dict[str, str]) -> dict[str, str]:
    cleaned = {
        k: v.strip()[:200] for k, v in (names or {}).items() if k in ARTICLE_LOCALES and v and v.strip()
    }
    if not cleaned:
        raise Invalid("a category needs a name in Korean or English", code="category_name_required")
    return cleaned


def _check_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise Invalid("the slug may hold a-z, 0-9 and '-' (up to 80)", code="invalid_slug")
    return slug


async def create_category(
    session: AsyncSession,
    *,
    workspace_id: int,
    slug: str,
    names: dict[str, str],
    position: int | None = None,
    template: dict[str, str] | None = None,
) -> KbCategory:
    """Create a category (appended at the end unless a position is given)."""
    slug = _check_slug(slug)
    if await get_category_by_slug(session, workspace_id=workspace_id, slug=slug):
        raise Conflict(f"category '{slug}' already exists", code="category_exists")
    if position is None:
        position = (
            await session.scalar(
                select(func.coalesce(func.max(KbCategory.position), -1)).where(
                    KbCategory.workspace_id == workspace_id
                )
            )
        ) + 1
    category = KbCategory(
        workspace_id=workspace_id,
        slug=slug,
        names=_clean_names(names),
        position=position,
        template=templates.clean(template),
    )
    session.add(category)
    await session.flush()
    return category


async def update_category(
    session: AsyncSession,
    *,
    workspace_id: int,
    category_id: int,
    slug: str = UNSET,
    names: dict[str, str] = UNSET,
    position: int = UNSET,
    template: dict[str, str] = UNSET,
) -> KbCategory:
    """Rename, re-slug or move a category, or change its article template."""
    category = await get_category(session, workspace_id=workspace_id, category_id=category_id)
    if slug is not UNSET:
        slug = _check_slug(slug)
        other = await get_category_by_slug(session, workspace_id=workspace_id, slug=slug)
        if other is not None and other.id != category.id:
            raise Conflict(f"category '{slug}' already exists", code="category_exists")
        category.slug = slug
    if names is not UNSET:
        category.names = _clean_names(names)
    if position is not UNSET:
        category.position = position
    if template is not UNSET:
        category.template = templates.clean(template)
    await session.flush()
    return category


async def category_template(
    session: AsyncSession, *, workspace_id: int, category_id: int | None, locale: str
) -> str:
    """The markdown a new `locale` article in the category starts from ("" when it has none)."""
    if category_id is None:
        return ""
    category = await get_category(session, workspace_id=workspace_id, category_id=category_id)
    return (category.template or {}).get(locale, "")


async def delete_category(session: AsyncSession, *, workspace_id: int, category_id: int) -> None:
    """Delete a category; its articles stay, uncategorised."""
    category = await get_category(session, workspace_id=workspace_id, category_id=category_id)
    await session.delete(category)
    await session.flush()
    await index.changed(session, workspace_id=workspace_id, article_id=None)
