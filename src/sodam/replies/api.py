"""REST API v1: canned replies (자주 쓰는 답변) the caller can see, and rendering one for a conversation.

One route serves every scope, so the routes ask for `work` and the service checks
`replies.manage` (supervisor, admin) when a reply is team or workspace-wide.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.pagination import (
    MAX_ID,
    InvalidCursor,
    Page,
    PageQuery,
    decode_cursor,
    encode_cursor,
    page_of,
)
from sodam.replies import service
from sodam.replies.models import ReplyScope
from sodam.replies.schemas import CannedReplyIn, CannedReplyOut, CannedReplyUpdate, RenderedReply

router = APIRouter(prefix="/api/v1/canned-replies", tags=["canned replies"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Reader = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.work, "write"))]
SHARED_403 = {
    403: {"description": "A team or workspace reply needs `replies.manage` (`permission_required`)."}
}


async def _viewer(session, principal: Principal) -> service.Viewer:
    return await service.viewer(
        session, workspace_id=principal.workspace_id, agent_id=principal.agent_id, role=principal.role
    )


@router.get(
    "",
    summary="List or search the canned replies you can use",
    response_model=Page[CannedReplyOut],
    description="Your personal replies, your teams' (every team's for `replies.manage`) and the "
    "workspace's. Without `q`: in id order. With `q`: matching replies best first — shortcut "
    "prefix, then words of the title and body (Korean by morphemes: `환불해` finds `환불 안내`), "
    "then by how often they were used.",
)
async def list_replies(
    principal: Reader,
    session: ApiSession,
    page: PageQuery,
    q: str | None = Query(default=None, max_length=200, description="Search text."),
    scope: ReplyScope | None = Query(default=None, description="Only this scope."),
):
    viewer = await _viewer(session, principal)
    query = (q or "").replace("\x00", "").strip()
    if not query:
        after = decode_cursor(page.cursor, "canned_replies", {"id": int})["id"] if page.cursor else None
        rows = await service.list_(
            session,
            workspace_id=principal.workspace_id,
            viewer=viewer,
            scope=scope,
            after_id=after,
            limit=page.limit + 1,
        )
        rows, cursor = page_of(rows, page.limit, lambda r: encode_cursor("canned_replies", {"id": r.id}))
        return {"data": rows, "next_cursor": cursor}
    ranked = await service.find(session, workspace_id=principal.workspace_id, viewer=viewer, query=query)
    if scope is not None:
        ranked = [(points, r) for points, r in ranked if r.scope == scope.value]
    if page.cursor:
        # The position in the ranking: (score, uses, id) of the last reply served.
        at = decode_cursor(page.cursor, "canned_replies_q", {"s": int, "u": int, "id": int, "q": str})
        if at["q"] != query:
            raise InvalidCursor("the cursor belongs to another search", details={"q": query})
        last = (-at["s"], -at["u"], -at["id"])
        ranked = [(p, r) for p, r in ranked if (-p, -r.usage_count, -r.id) > last]
    pairs, cursor = ranked[: page.limit], None
    if len(ranked) > page.limit:
        points, last_row = pairs[-1]
        cursor = encode_cursor(
            "canned_replies_q", {"s": points, "u": last_row.usage_count, "id": last_row.id, "q": query}
        )
    return {"data": [r for _, r in pairs], "next_cursor": cursor}


@router.post(
    "",
    summary="Create a canned reply",
    status_code=201,
    response_model=CannedReplyOut,
    responses={**SHARED_403, 409: {"description": "The shortcut is taken in that scope (`shortcut_taken`)."}},
)
async def create_reply(body: CannedReplyIn, principal: Writer, session: ApiSession):
    viewer = await _viewer(session, principal)
    return await service.create(
        session, workspace_id=principal.workspace_id, viewer=viewer, **body.model_dump()
    )


@router.get("/{reply_id}", summary="Get a canned reply", response_model=CannedReplyOut)
async def get_reply(reply_id: Id, principal: Reader, session: ApiSession):
    viewer = await _viewer(session, principal)
    return await service.get(session, workspace_id=principal.workspace_id, viewer=viewer, reply_id=reply_id)


@router.patch(
    "/{reply_id}",
    summary="Change a canned reply",
    response_model=CannedReplyOut,
    responses={**SHARED_403, 409: {"description": "The shortcut is taken in that scope (`shortcut_taken`)."}},
)
async def update_reply(reply_id: Id, body: CannedReplyUpdate, principal: Writer, session: ApiSession):
    viewer = await _viewer(session, principal)
    return await service.update(
        session,
        workspace_id=principal.workspace_id,
        viewer=viewer,
        reply_id=reply_id,
        **body.model_dump(exclude_unset=True),
    )


@router.delete("/{reply_id}", summary="Delete a canned reply", status_code=204, responses=SHARED_403)
async def delete_reply(reply_id: Id, principal: Writer, session: ApiSession):
    viewer = await _viewer(session, principal)
    await service.delete(session, workspace_id=principal.workspace_id, viewer=viewer, reply_id=reply_id)
    return Response(status_code=204)


@router.post(
    "/{reply_id}/render",
    summary="Fill a canned reply's placeholders for a conversation",
    response_model=RenderedReply,
    description="`{{contact.name}}`, `{{contact.first_name}}` (김민지 → 민지, Minji Kim → Minji), "
    "`{{contact.email}}`, `{{contact.phone}}`, `{{contact.company}}`, `{{contact.<custom attribute>}}` "
    "from the conversation's contact and `{{agent.name}}` from the caller. A nameless contact is "
    "called 고객 / there; placeholders with no value stay as typed. Counts one use of the reply "
    "unless `count_use=false`.",
)
async def render_reply(
    reply_id: Id,
    principal: Writer,
    session: ApiSession,
    conversation_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    count_use: bool = Query(default=True),
):
    viewer = await _viewer(session, principal)
    text = await service.render(
        session,
        workspace_id=principal.workspace_id,
        viewer=viewer,
        reply_id=reply_id,
        conversation_id=conversation_id,
        count_use=count_use,
    )
    return {"text": text}
