"""Import and export of a workspace's knowledge base: one JSON file, or a folder of Markdown
files with YAML front matter (plus categories.yaml). Import is idempotent: categories
match by slug, articles by id (when it is one of this workspace's) or by locale + title,
so re-importing an export updates rather than duplicates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.core.errors import Invalid, NotFound
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import service
from sodam.knowledge.models import KbArticle
from sodam.knowledge.schemas import ExportFile

CATEGORIES_FILE = "categories.yaml"


@dataclass
class ImportReport:
    categories_created: int = 0
    created: int = 0
    updated: int = 0


async def export_data(
    session: AsyncSession, *, workspace_id: int, on_article: Callable[[], None] | None = None
) -> dict[str, Any]:
    """The whole knowledge base as plain data (the JSON format)."""
    categories = await kb_categories.list_categories(session, workspace_id=workspace_id)
    slugs = {c.id: c.slug for c in categories}
    articles = sorted(
        await service.list_articles(session, workspace_id=workspace_id, limit=1_000_000), key=lambda a: a.id
    )
    out_articles = []
    for a in articles:
        out_articles.append(
            {
                "id": a.id,
                "title": a.title,
                "body": a.body,
                "locale": a.locale,
                "category": slugs.get(a.category_id),
                "alternate_questions": [q.text for q in a.alternate_questions],
                "status": a.status,
            }
        )
        if on_article:
            on_article()
    return {
        "categories": [{"slug": c.slug, "names": dict(c.names), "position": c.position} for c in categories],
        "articles": out_articles,
    }


def validate(data: Any) -> ExportFile:
    """Parse and check an import file's data; a clear 422-style error names the bad entry."""
    from pydantic import ValidationError

    try:
        return ExportFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Invalid(f"{where}: {first['msg']}", code="invalid_import") from None


async def import_data(
    session: AsyncSession,
    *,
    workspace_id: int,
    data: dict[str, Any],
    author_id: int | None = None,
    on_article: Callable[[], None] | None = None,
) -> ImportReport:
    """Create or update categories and articles from export data, in the caller's transaction."""
    parsed = validate(data)
    report = ImportReport()
    by_slug = {c.slug: c for c in await kb_categories.list_categories(session, workspace_id=workspace_id)}
    for cat in parsed.categories:
        names = {k: v for k, v in cat.names.items() if k in ("ko", "en") and v}
        existing = by_slug.get(cat.slug)
        if existing is None:
            by_slug[cat.slug] = await kb_categories.create_category(
                session,
                workspace_id=workspace_id,
                slug=cat.slug,
                names=names or {"ko": cat.slug},
                position=cat.position,
            )
            report.categories_created += 1
        else:
            await kb_categories.update_category(
                session,
                workspace_id=workspace_id,
                category_id=existing.id,
                **({"names": names} if names else {}),
                **({"position": cat.position} if cat.position is not None else {}),
            )
    existing_articles = await service.list_articles(session, workspace_id=workspace_id, limit=1_000_000)
    by_title = {(a.locale, a.title): a for a in existing_articles}
    for item in parsed.articles:
        category_id = None
        if item.category:
            category = by_slug.get(item.category)
            if category is None:  # an article may name a category the file does not list
                category = by_slug[item.category] = await kb_categories.create_category(
                    session, workspace_id=workspace_id, slug=item.category, names={"ko": item.category}
                )
                report.categories_created += 1
            category_id = category.id
        target: KbArticle | None = None
        if item.id is not None:
            try:
                target = await service.get_article(session, workspace_id=workspace_id, article_id=item.id)
            except NotFound:
                target = None  # another workspace's id (or a deleted one): create anew
        target = target or by_title.get((item.locale, item.title.strip()))
        fields = {
            "title": item.title,
            "body": item.body,
            "locale": item.locale,
            "category_id": category_id,
            "status": item.status,
            "alternate_questions": item.alternate_questions,
        }
        if target is None:
            article = await service.create_article(
                session, workspace_id=workspace_id, author_id=author_id, **fields
            )
            by_title[(article.locale, article.title)] = article
            report.created += 1
        else:
            await service.update_article(
                session, workspace_id=workspace_id, article_id=target.id, author_id=author_id, **fields
            )
            report.updated += 1
        if on_article:
            on_article()
    return report


# -- files ------------------------------------------------------------------------------
def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"{path}: not a readable JSON file ({exc})", code="invalid_import") from None
    if not isinstance(data, dict):
        raise Invalid(f"{path}: expected an object with categories and articles", code="invalid_import")
    return data


def write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        raise Invalid(f"{name}: missing the '---' front matter", code="invalid_import")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise Invalid(f"{name}: the front matter is not closed with '---'", code="invalid_import")
    try:
        meta = yaml.safe_load(parts[0][3:]) or {}
    except yaml.YAMLError as exc:
        raise Invalid(f"{name}: bad front matter ({exc})", code="invalid_import") from None
    if not isinstance(meta, dict):
        raise Invalid(f"{name}: the front matter must be a mapping", code="invalid_import")
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    # The writer puts one blank line after the front matter and one newline at the end.
    body = body.removeprefix("\n")
    return meta, body.removesuffix("\n")


def read_markdown_folder(folder: Path) -> dict[str, Any]:
    """categories.yaml (optional) and every *.md file (front matter: title, locale, category, ...)."""
    categories: list = []
    cat_file = folder / CATEGORIES_FILE
    if cat_file.exists():
        try:
            categories = yaml.safe_load(cat_file.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise Invalid(f"{cat_file}: {exc}", code="invalid_import") from None
    articles = []
    for path in sorted(folder.rglob("*.md")):
        meta, body = _front_matter(path.read_text(encoding="utf-8"), path.name)
        articles.append({**meta, "body": body})
    return {"categories": categories, "articles": articles}


def write_markdown_folder(data: dict[str, Any], folder: Path) -> list[Path]:
    """One Markdown file per article (named by id and locale) and categories.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CATEGORIES_FILE).write_text(
        yaml.safe_dump(data["categories"], allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    written = []
    for i, article in enumerate(data["articles"], 1):
        meta = {
            k: article[k]
            for k in ("id", "title", "locale", "category", "status", "alternate_questions")
            if k in article
        }
        name = f"{article.get('id') or i:05d}-{article.get('locale', 'ko')}.md"
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
        body = article.get("body") or ""
        path = folder / name
        path.write_text(f"---\n{front}---\n\n{body}\n", encoding="utf-8")
        written.append(path)
    return written
