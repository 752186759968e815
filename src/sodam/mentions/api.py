"""REST API v1: social mentions. An integration posts them into an API inbox (permission
`work`, like the API channel's messages); agents list, convert and dismiss them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.channels import api_inbound
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.mentions import service
from sodam.mentions.schemas import MentionIn, MentionOut

router = APIRouter(prefix="/api/v1", tags=["Mentions"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Reader = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.work, "write"))]


def _out(mention) -> MentionOut:
    return MentionOut.model_validate(service.public(mention))


@router.post(
    "/inboxes/{inbox_id}/mentions",
    summary="Take in a public post about the company (a mention, not a conversation)",
    status_code=201,
    response_model=MentionOut,
    responses={
        200: {"description": "This external_id was already taken in: the stored mention."},
        409: {"description": "Not an API inbox (`not_an_api_inbox`)."},
    },
)
async def take_in(inbox_id: Id, body: MentionIn, principal: Writer, session: ApiSession, response: Response):
    inbox = await api_inbound.api_inbox(session, workspace_id=principal.workspace_id, inbox_id=inbox_id)
    mention, created = await service.take_in(session, inbox=inbox, **body.model_dump())
    response.status_code = 201 if created else 200
    return _out(mention)


@router.get("/mentions", summary="Mentions, newest first", response_model=Page[MentionOut])
async def list_mentions(
    principal: Reader,
    session: ApiSession,
    page: PageQuery,
    sentiment: Annotated[Literal["negative", "neutral", "positive"] | None, Query()] = None,
    status: Annotated[Literal["new", "converted", "dismissed"] | None, Query()] = None,
    inbox_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    before = decode_cursor(page.cursor, "mentions", {"id": int})["id"] if page.cursor else None
    rows = await service.list_(
        session,
        workspace_id=principal.workspace_id,
        sentiment=sentiment,
        status=status,
        inbox_id=inbox_id,
        before_id=before,
        limit=page.limit + 1,
    )
    rows, cursor = page_of(rows, page.limit, lambda m: encode_cursor("mentions", {"id": m.id}))
    return {"data": [_out(m) for m in rows], "next_cursor": cursor}


@router.get("/mentions/{mention_id}", summary="One mention", response_model=MentionOut)
async def get_mention(mention_id: Id, principal: Reader, session: ApiSession):
    return _out(await service.get(session, workspace_id=principal.workspace_id, mention_id=mention_id))


@router.post(
    "/mentions/{mention_id}/convert",
    summary="Answer a mention: open a conversation for its author in the mention's API inbox",
    response_model=MentionOut,
)
async def convert(mention_id: Id, principal: Writer, session: ApiSession):
    return _out(await service.convert(session, workspace_id=principal.workspace_id, mention_id=mention_id))


@router.post(
    "/mentions/{mention_id}/dismiss",
    summary="Mark a mention as needing no answer",
    response_model=MentionOut,
    responses={409: {"description": "Already converted (`mention_converted`)."}},
)
async def dismiss(mention_id: Id, principal: Writer, session: ApiSession):
    return _out(await service.dismiss(session, workspace_id=principal.workspace_id, mention_id=mention_id))
