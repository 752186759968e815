"""REST API v1: the knowledge base (categories, articles, alternate questions, search)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from sodam.accounts.auth import ApiSession, ReadPrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.knowledge import service
from sodam.knowledge.schemas import (
    ArticleIn,
    ArticleOut,
    ArticleUpdate,
    CategoryIn,
    CategoryOut,
    CategoryUpdate,
    ContentGapOut,
    QuestionIn,
    QuestionOut,
    SearchOut,
)

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# Writing the knowledge base and reading its gaps: kb.edit (admins and supervisors).
Editor = Annotated[Principal, Depends(api_access(Permission.kb_edit, "write"))]
GapsReader = Annotated[Principal, Depends(api_access(Permission.kb_edit, "read"))]


@router.get("/categories", summary="List categories in display order", response_model=list[CategoryOut])
async def list_categories(principal: ReadPrincipal, session: ApiSession):
    return await service.list_categories(session, workspace_id=principal.workspace_id)


@router.post(
    "/categories",
    summary="Create a category (kb.edit)",
    status_code=201,
    response_model=CategoryOut,
    responses={409: {"description": "The slug is taken (`category_exists`)."}},
)
async def create_category(body: CategoryIn, principal: Editor, session: ApiSession):
    return await service.create_category(
        session,
        workspace_id=principal.workspace_id,
        slug=body.slug,
        names=body.names.model_dump(exclude_none=True),
        position=body.position,
    )


@router.get("/categories/{category_id}", summary="Get a category", response_model=CategoryOut)
async def get_category(category_id: Id, principal: ReadPrincipal, session: ApiSession):
    return await service.get_category(session, workspace_id=principal.workspace_id, category_id=category_id)


@router.patch("/categories/{category_id}", summary="Rename or move a category", response_model=CategoryOut)
async def update_category(category_id: Id, body: CategoryUpdate, principal: Editor, session: ApiSession):
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "names" in changes:
        changes["names"] = body.names.model_dump(exclude_none=True)
    return await service.update_category(
        session, workspace_id=principal.workspace_id, category_id=category_id, **changes
    )


@router.delete(
    "/categories/{category_id}",
    summary="Delete a category (its articles become uncategorised)",
    status_code=204,
)
async def delete_category(category_id: Id, principal: Editor, session: ApiSession):
    await service.delete_category(session, workspace_id=principal.workspace_id, category_id=category_id)
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
    return {"data": rows, "next_cursor": cursor}


@router.post("/articles", summary="Create an article (kb.edit)", status_code=201, response_model=ArticleOut)
async def create_article(body: ArticleIn, principal: Editor, session: ApiSession):
    return await service.create_article(
        session, workspace_id=principal.workspace_id, author_id=principal.agent_id, **body.model_dump()
    )


@router.get("/articles/{article_id}", summary="Get an article (any status)", response_model=ArticleOut)
async def get_article(article_id: Id, principal: ReadPrincipal, session: ApiSession):
    return await service.get_article(session, workspace_id=principal.workspace_id, article_id=article_id)


@router.patch(
    "/articles/{article_id}",
    summary="Update an article (publish: status=published)",
    response_model=ArticleOut,
)
async def update_article(article_id: Id, body: ArticleUpdate, principal: Editor, session: ApiSession):
    changes = body.model_dump(exclude_unset=True)
    for key in ("title", "body", "locale", "status", "alternate_questions"):
        if key in changes and changes[key] is None:
            del changes[key]  # null for these means "unchanged"; only category_id can be cleared
    return await service.update_article(
        session,
        workspace_id=principal.workspace_id,
        article_id=article_id,
        author_id=principal.agent_id,
        **changes,
    )


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
    gaps = await service.content_gaps(session, workspace_id=principal.workspace_id, days=days)
    return [g.__dict__ for g in gaps]
