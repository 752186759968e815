"""Console: the reply box's `/` picker (JSON for console.js) and the management page
(/console/settings/replies), open to every agent for their personal replies; team and
workspace replies are changed by those who hold `replies.manage`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query
from pydantic import ValidationError

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console
from sodam.core.errors import AppError
from sodam.core.pagination import MAX_ID
from sodam.replies import service
from sodam.replies.models import BODY_MAX, SHORTCUT_MAX, TITLE_MAX, CannedReply, ReplyScope
from sodam.replies.schemas import CannedReplyIn

router = APIRouter(prefix="/console", include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PICKER_SIZE = 8
PREVIEW_CHARS = 90
PLACEHOLDERS = (
    "{{contact.name}}",
    "{{contact.first_name}}",
    "{{contact.email}}",
    "{{agent.name}}",
    "{{contact.<attribute>}}",
)


async def _viewer(ctx: Console) -> service.Viewer:
    return await service.viewer(
        ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, role=ctx.agent.role
    )


def _preview(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1].rstrip() + "…"


@router.get("/replies/suggest")
async def suggest(
    ctx: Annotated[Console, Depends(console)],
    q: Annotated[str, Query(max_length=100)] = "",
):
    """The picker's list: the agent's own, their teams' and the workspace's replies, best first."""
    viewer = await _viewer(ctx)
    ranked = await service.find(
        ctx.session,
        workspace_id=ctx.workspace_id,
        viewer=viewer,
        query=q.replace("\x00", ""),
        own_teams_only=True,
    )
    return {
        "data": [
            {
                "id": reply.id,
                "shortcut": reply.shortcut,
                "title": reply.title,
                "preview": _preview(reply.body),
                "scope": reply.scope,
                "scope_label": ctx.t(f"replies.scope.{reply.scope}"),
            }
            for _, reply in ranked[:PICKER_SIZE]
        ]
    }


@router.post("/replies/{reply_id}/insert")
async def insert(
    reply_id: Id,
    ctx: Annotated[Console, Depends(console)],
    conversation_id: Annotated[int, Query(ge=1, le=MAX_ID)],
):
    """The reply's text for this conversation (placeholders filled); counts one use."""
    viewer = await _viewer(ctx)
    text = await service.render(
        ctx.session,
        workspace_id=ctx.workspace_id,
        viewer=viewer,
        reply_id=reply_id,
        conversation_id=conversation_id,
    )
    return {"text": text}


async def _page(
    ctx: Console,
    *,
    q: str = "",
    editing: CannedReply | None = None,
    form: dict | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
    template: str = "replies/settings.html",
):
    viewer = await _viewer(ctx)
    if q.strip():
        replies = [
            r
            for _, r in await service.find(ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, query=q)
        ]
    else:
        replies = await service.list_(ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, limit=1000)
        order = {ReplyScope.personal.value: 0, ReplyScope.team.value: 1, ReplyScope.workspace.value: 2}
        replies.sort(key=lambda r: (order.get(r.scope, 3), r.team_id or 0, r.shortcut.lower()))
    teams = await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        template,
        {
            "section": "replies",
            "replies": replies,
            "teams": teams,
            "team_names": {t.id: t.name for t in teams},
            "can_manage": ctx.can(Permission.replies_manage),
            "can_edit": lambda r: service.can_edit(viewer, r),
            "q": q,
            "editing": editing,
            "form": form or {},
            "error": error,
            "notice": notice,
            "placeholders": PLACEHOLDERS,
            "scope_labels": {s.value: ctx.t(f"replies.scope.{s.value}") for s in ReplyScope},
            "limits": {"shortcut": SHORTCUT_MAX, "title": TITLE_MAX, "body": BODY_MAX},
        },
        status_code=status_code,
    )


@router.get("/settings/replies")
async def replies_page(
    ctx: Annotated[Console, Depends(console)],
    q: Annotated[str, Query(max_length=100)] = "",
):
    return await _page(ctx, q=q.replace("\x00", ""))


def _fields(shortcut: str, title: str, body: str, scope: str, team_id: str) -> dict:
    return {"shortcut": shortcut, "title": title, "body": body, "scope": scope, "team_id": team_id}


def _validated(ctx: Console, form: dict) -> tuple[CannedReplyIn | None, str | None]:
    """The form as the API's input model, or the agent's-language reason it is refused."""
    scope = form["scope"] if form["scope"] in {s.value for s in ReplyScope} else "personal"
    team = form["team_id"] if scope == ReplyScope.team.value else ""
    if scope == ReplyScope.team.value and not team.isdigit():
        return None, ctx.t("replies.error.team_required")
    try:
        return CannedReplyIn(
            shortcut=form["shortcut"],
            title=form["title"],
            body=form["body"],
            scope=scope,
            team_id=int(team) if team else None,
        ), None
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else ""
        key = f"replies.error.{field}" if field in ("shortcut", "title", "body") else "replies.error.invalid"
        return None, ctx.t(key)


def _reason(ctx: Console, exc: AppError) -> str:
    if exc.code == "shortcut_taken":
        return ctx.t("replies.error.shortcut_taken")
    if exc.code == "permission_required":
        return ctx.t("replies.error.shared_needs_manager")
    return ctx.t("replies.error.invalid")


Text = Annotated[str, Form(max_length=BODY_MAX + 100)]


@router.post("/settings/replies")
async def create_reply(
    ctx: Annotated[Console, Depends(console)],
    shortcut: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=400)] = "",
    body: Text = "",
    scope: Annotated[str, Form(max_length=20)] = "personal",
    team_id: Annotated[str, Form(max_length=20)] = "",
):
    form = _fields(shortcut, title, body, scope, team_id)
    data, error = _validated(ctx, form)
    if data is None:
        return await _page(ctx, form=form, error=error, status_code=422)
    viewer = await _viewer(ctx)
    try:
        await service.create(ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, **data.model_dump())
    except AppError as exc:
        return await _page(ctx, form=form, error=_reason(ctx, exc), status_code=exc.status_code)
    return await _page(ctx, notice=ctx.t("replies.created", shortcut=data.shortcut))


@router.get("/settings/replies/{reply_id}")
async def edit_page(reply_id: Id, ctx: Annotated[Console, Depends(console)]):
    viewer = await _viewer(ctx)
    reply = await service.get(ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, reply_id=reply_id)
    form = _fields(reply.shortcut, reply.title, reply.body, reply.scope, str(reply.team_id or ""))
    return await _page(ctx, editing=reply, form=form, template="replies/edit.html")


@router.post("/settings/replies/{reply_id}")
async def update_reply(
    reply_id: Id,
    ctx: Annotated[Console, Depends(console)],
    shortcut: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=400)] = "",
    body: Text = "",
    scope: Annotated[str, Form(max_length=20)] = "personal",
    team_id: Annotated[str, Form(max_length=20)] = "",
):
    viewer = await _viewer(ctx)
    reply = await service.get(ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, reply_id=reply_id)
    form = _fields(shortcut, title, body, scope, team_id)
    data, error = _validated(ctx, form)
    if data is None:
        return await _page(
            ctx, editing=reply, form=form, error=error, status_code=422, template="replies/edit.html"
        )
    try:
        await service.update(
            ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, reply_id=reply_id, **data.model_dump()
        )
    except AppError as exc:
        await ctx.session.rollback()
        reply = await service.get(
            ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, reply_id=reply_id
        )
        return await _page(
            ctx,
            editing=reply,
            form=form,
            error=_reason(ctx, exc),
            status_code=exc.status_code,
            template="replies/edit.html",
        )
    response = await _page(ctx, notice=ctx.t("replies.saved", shortcut=data.shortcut))
    response.headers["HX-Push-Url"] = "/console/settings/replies"  # back on the list, in the address bar too
    return response


@router.post("/settings/replies/{reply_id}/delete")
async def delete_reply(reply_id: Id, ctx: Annotated[Console, Depends(console)]):
    viewer = await _viewer(ctx)
    reply = await service.get(ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, reply_id=reply_id)
    shortcut = reply.shortcut
    try:
        await service.delete(ctx.session, workspace_id=ctx.workspace_id, viewer=viewer, reply_id=reply_id)
    except AppError as exc:
        return await _page(ctx, error=_reason(ctx, exc), status_code=exc.status_code)
    return await _page(ctx, notice=ctx.t("replies.deleted", shortcut=shortcut))
