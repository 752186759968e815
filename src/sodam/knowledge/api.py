"""REST API v1: the knowledge base (categories, articles, alternate questions, search)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from sodam.accounts.auth import ApiSession, ReadPrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.knowledge import categories as kb_categories
from sodam.knowledge import clock, engagement, hygiene, service, templates
from sodam.knowledge import settings as kb_settings
from sodam.knowledge.schemas import (
    ArticleIn,
    ArticleOut,
    ArticleUpdate,
    CategoryIn,
    CategoryOut,
    CategoryUpdate,
    ContentGapOut,
    HealthOut,
    KbSettingsOut,
    KbSettingsPatch,
    QuestionIn,
    QuestionOut,
    SearchOut,
    TemplateOut,
)

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# Writing the knowledge base and reading its gaps: kb.edit (admins and supervisors).
Editor = Annotated[Principal, Depends(api_access(Permission.kb_edit, "write"))]
GapsReader = Annotated[Principal, Depends(api_access(Permission.kb_edit, "read"))]


@router.get("/categories", summary="List categories in display order", response_model=list[CategoryOut])
async def list_categories(principal: ReadPrincipal, session: ApiSession):
    return await kb_categories.list_categories(session, workspace_id=principal.workspace_id)


@router.post(
    "/categories",
    summary="Create a category (kb.edit)",
    status_code=201,
    response_model=CategoryOut,
    responses={409: {"description": "The slug is taken (`category_exists`)."}},
)
async def create_category(body: CategoryIn, principal: Editor, session: ApiSession):
    return await kb_categories.create_category(
        session,
        workspace_id=principal.workspace_id,
        slug=body.slug,
        names=body.names.model_dump(exclude_none=True),
        position=body.position,
        template=body.template.model_dump(exclude_none=True) if body.template else None,
    )


@router.get("/categories/{category_id}", summary="Get a category", response_model=CategoryOut)
async def get_category(category_id: Id, principal: ReadPrincipal, session: ApiSession):
    return await kb_categories.get_category(
        session, workspace_id=principal.workspace_id, category_id=category_id
    )


@router.patch("/categories/{category_id}", summary="Rename or move a category", response_model=CategoryOut)
async def update_category(category_id: Id, body: CategoryUpdate, principal: Editor, session: ApiSession):
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "names" in changes:
        changes["names"] = body.names.model_dump(exclude_none=True)
    return await kb_categories.update_category(
        session, workspace_id=principal.workspace_id, category_id=category_id, **changes
    )


@router.delete(
    "/categories/{category_id}",
    summary="Delete a category (its articles become uncategorised)",
    status_code=204,
)
async def delete_category(category_id: Id, principal: Editor, session: ApiSession):
    await kb_categories.delete_category(session, workspace_id=principal.workspace_id, category_id=category_id)
    return Response(status_code=204)


@router.get("/articles", summary="List articles (newest first)", response_model=Page[ArticleOut])
async def list_articles(
    principal: ReadPrincipal,
    session: ApiSession,
    page: PageQuery,
    status: Annotated[str | None, Query(pattern="^(draft|published)$")] = None,
    locale: Annotated[str | None, Query(pattern="^(ko|en)$")] = None,
    category_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Substring of the title.")] = None,
):
    after = decode_cursor(page.cursor, "kb_articles", {"id": int})["id"] if page.cursor else None
    rows = await service.list_articles(
        session,
        workspace_id=principal.workspace_id,
        status=status,
        locale=locale,
        category_id=category_id,
        query=(q or "").replace("\x00", "").strip() or None,
        after_id=after,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda a: encode_cursor("kb_articles", {"id": a.id}))
    hosts = (await kb_settings.get(session, workspace_id=principal.workspace_id)).video_hosts
    return {"data": [_out(a, hosts) for a in rows], "next_cursor": cursor}


def _out(article, hosts: tuple[str, ...]) -> ArticleOut:
    return ArticleOut.model_validate(article).with_video_hosts(hosts)


async def _article_out(session, workspace_id: int, article) -> ArticleOut:
    return _out(article, (await kb_settings.get(session, workspace_id=workspace_id)).video_hosts)


@router.post(
    "/articles",
    summary="Create an article (kb.edit)",
    status_code=201,
    response_model=ArticleOut,
    responses={
        422: {"description": "A video line names a host off the allow-list (`video_host_not_allowed`)."}
    },
)
async def create_article(body: ArticleIn, principal: Editor, session: ApiSession):
    article = await service.create_article(
        session, workspace_id=principal.workspace_id, author_id=principal.agent_id, **body.model_dump()
    )
    return await _article_out(session, principal.workspace_id, article)


@router.get("/articles/{article_id}", summary="Get an article (any status)", response_model=ArticleOut)
async def get_article(article_id: Id, principal: ReadPrincipal, session: ApiSession):
    article = await service.get_article(session, workspace_id=principal.workspace_id, article_id=article_id)
    return await _article_out(session, principal.workspace_id, article)


@router.patch(
    "/articles/{article_id}",
    summary="Update an article (publish: status=published)",
    response_model=ArticleOut,
)
async def update_article(article_id: Id, body: ArticleUpdate, principal: Editor, session: ApiSession):
    changes = body.model_dump(exclude_unset=True)
    for key in ("title", "body", "locale", "status", "alternate_questions", "review_by"):
        if key in changes and changes[key] is None:
            del changes[key]  # null for these means "unchanged"; only category_id can be cleared
    article = await service.update_article(
        session,
        workspace_id=principal.workspace_id,
        article_id=article_id,
        author_id=principal.agent_id,
        **changes,
    )
    return await _article_out(session, principal.workspace_id, article)


@router.post(
    "/articles/{article_id}/reviewed",
    summary="Mark an article reviewed: its review-by date moves to today + the review period (kb.edit)",
    response_model=ArticleOut,
)
async def mark_reviewed(article_id: Id, principal: Editor, session: ApiSession):
    article = await service.mark_reviewed(
        session, workspace_id=principal.workspace_id, article_id=article_id, author_id=principal.agent_id
    )
    return await _article_out(session, principal.workspace_id, article)


@router.delete("/articles/{article_id}", summary="Delete an article", status_code=204)
async def delete_article(article_id: Id, principal: Editor, session: ApiSession):
    await service.delete_article(session, workspace_id=principal.workspace_id, article_id=article_id)
    return Response(status_code=204)


@router.post(
    "/articles/{article_id}/alternate-questions",
    summary='Add an "also asked as" question',
    status_code=201,
    response_model=QuestionOut,
)
async def add_question(article_id: Id, body: QuestionIn, principal: Editor, session: ApiSession):
    return await service.add_alternate_question(
        session,
        workspace_id=principal.workspace_id,
        article_id=article_id,
        text=body.text,
        author_id=principal.agent_id,
    )


@router.delete(
    "/articles/{article_id}/alternate-questions/{question_id}",
    summary="Remove an alternate question",
    status_code=204,
)
async def remove_question(article_id: Id, question_id: Id, principal: Editor, session: ApiSession):
    await service.remove_alternate_question(
        session,
        workspace_id=principal.workspace_id,
        article_id=article_id,
        question_id=question_id,
        author_id=principal.agent_id,
    )
    return Response(status_code=204)


@router.get(
    "/search",
    summary="Search published articles with the help center's and the bot's matching",
    response_model=SearchOut,
)
async def search(
    principal: ReadPrincipal,
    session: ApiSession,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    locale: Annotated[
        str | None, Query(pattern="^(ko|en)$", description="Detected from q when omitted.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
):
    result = await service.search(
        session, workspace_id=principal.workspace_id, query=q, locale=locale, limit=limit
    )
    return {
        "query": result.query,
        "locale": result.locale,
        "decision": result.decision,
        "confidence": {
            "coverage": result.confidence.coverage,
            "margin": result.confidence.margin,
            "value": result.confidence.value,
        },
        "data": [h.__dict__ for h in result.hits],
    }


@router.get(
    "/content-gaps",
    summary="Frequent help-center searches with no results or mostly unhelpful ones (kb.edit)",
    response_model=list[ContentGapOut],
)
async def content_gaps(
    principal: GapsReader,
    session: ApiSession,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
):
    gaps = await engagement.content_gaps(session, workspace_id=principal.workspace_id, days=days)
    return [g.__dict__ for g in gaps]


@router.get("/templates", summary="The built-in article templates (ko/en)", response_model=list[TemplateOut])
async def builtin_templates(principal: ReadPrincipal):
    return [{"name": name, **body} for name, body in templates.BUILTIN.items()]


def _settings_out(config: kb_settings.KbConfig) -> dict:
    return {
        "video_hosts": list(config.video_hosts),
        "default_video_hosts": not config.custom_hosts,
        "review_days": config.review_days,
        "stale_view_days": config.stale_view_days,
        "min_downvotes": config.min_downvotes,
        "handoff_days": config.handoff_days,
    }


@router.get(
    "/settings",
    summary="Video allow-list, review period, staleness thresholds (kb.edit)",
    response_model=KbSettingsOut,
)
async def get_settings(principal: GapsReader, session: ApiSession):
    return _settings_out(await kb_settings.get(session, workspace_id=principal.workspace_id))


@router.patch(
    "/settings", summary="Change the knowledge-base settings (kb.edit)", response_model=KbSettingsOut
)
async def update_settings(body: KbSettingsPatch, principal: Editor, session: ApiSession):
    changes = body.model_dump(exclude={"video_hosts", "reset_video_hosts"})
    config = await kb_settings.save(
        session,
        workspace_id=principal.workspace_id,
        video_hosts=body.video_hosts,
        reset_video_hosts=body.reset_video_hosts,
        **changes,
    )
    return _settings_out(config)


@router.get(
    "/health",
    summary="Published articles to fix first, ranked, with the reasons (kb.edit)",
    response_model=HealthOut,
)
async def health(
    principal: GapsReader,
    session: ApiSession,
    locale: Annotated[str | None, Query(pattern="^(ko|en)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    config = await kb_settings.get(session, workspace_id=principal.workspace_id)
    items = await hygiene.report(session, workspace_id=principal.workspace_id, locale=locale, limit=limit)
    return {
        "generated_at": clock.now(),
        "settings": _settings_out(config),
        "data": [i.as_dict() for i in items],
    }
