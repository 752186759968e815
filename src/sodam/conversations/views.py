"""Console: the inbox (conversation list), the conversation view, replies, notes and actions.

Pages are server-rendered; htmx swaps fragments for actions, console.js keeps the
open conversation live from the agents' socket. Every query is scoped to the
signed-in agent's workspace, so another workspace's ids are simply "not found".
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sodam.accounts import service as accounts
from sodam.accounts.sessions import Console, console
from sodam.audit import service as audit
from sodam.contacts import service as contacts
from sodam.conversations import service
from sodam.conversations.event_lines import event_line
from sodam.conversations.inbox_context import (
    STATUSES,
    conversation_context,
    display_name,
    list_context,
    message_item,
    names_of,
    view_filters,
)
from sodam.conversations.models import Conversation, Status
from sodam.conversations.with_attachments import agent_message
from sodam.core.errors import AppError, Invalid
from sodam.core.params import MAX_ID, MAX_SEQ, IdPath

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/open-count")
async def open_count(ctx: Console = Depends(console)):
    """The rail's "my open conversations" figure, for pages that do not compute it themselves."""
    counts = await service.counts(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    return Response(str(counts["mine"]), media_type="text/plain")


async def _rail(ctx: Console) -> dict:
    counts = await service.counts(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    return {"open_count": counts["mine"]}


@router.get("")
async def inbox_page(
    view: str | None = Query(default=None),
    status: str | None = Query(default=None),
    sort: str | None = Query(default=None, max_length=10),
    ctx: Console = Depends(console),
):
    """The console's home: the conversation list with an empty centre."""
    view, status = view_filters(view, status)
    return ctx.render(
        "console/inbox.html",
        {
            "section": "inbox",
            **await _rail(ctx),
            "list": await list_context(ctx, view=view, status=status, sort=sort),
        },
    )


@router.get("/conversations")
async def list_fragment(
    view: str | None = Query(default=None),
    status: str | None = Query(default=None),
    selected: int | None = Query(default=None, ge=1, le=MAX_ID),
    sort: str | None = Query(default=None, max_length=10),
    ctx: Console = Depends(console),
):
    """The list pane alone (filters, live refresh)."""
    view, status = view_filters(view, status)
    return ctx.render(
        "console/_list.html",
        {
            "list": await list_context(ctx, view=view, status=status, selected_id=selected, sort=sort),
            "oob_count": True,
        },
    )


@router.get("/conversations/{conversation_id}")
async def conversation_page(
    conversation_id: IdPath,
    view: str | None = Query(default=None),
    status: str | None = Query(default=None),
    message: int | None = Query(default=None, ge=1, le=MAX_ID),
    sort: str | None = Query(default=None, max_length=10),
    ctx: Console = Depends(console),
):
    """One conversation; htmx navigation gets only the centre and right panes. With
    `message` (a search hit) it opens at that message."""
    conversation = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    found = await service.get_messages_by_ids(ctx.session, ids=[message]) if message else []
    focus = next((m for m in found if m.conversation_id == conversation.id), None)
    await service.mark_read(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation.id,
        agent_id=ctx.agent.id,
        seq=conversation.last_seq,
    )
    context = await conversation_context(ctx, conversation, focus)
    # The messages and the contact panel are personal data: both reads are logged.
    await audit.record(
        ctx.session, action="conversation.read", target_type="conversation", target_id=conversation.id
    )
    await audit.record(
        ctx.session,
        action="contact.read",
        target_type="contact",
        target_id=conversation.contact_id,
        details={"conversation_id": conversation.id},
    )
    if ctx.is_htmx and ctx.request.headers.get("hx-target") == "conversation-area":
        return ctx.render("console/_conversation_area.html", context)
    view, status = view_filters(view, status)
    return ctx.render(
        "console/inbox.html",
        {
            "section": "inbox",
            **await _rail(ctx),
            **context,
            "list": await list_context(ctx, view=view, status=status, selected_id=conversation.id, sort=sort),
        },
    )


@router.post("/conversations/{conversation_id}/read", status_code=204)
async def read(
    conversation_id: IdPath, seq: int = Form(..., ge=0, le=MAX_SEQ), ctx: Console = Depends(console)
):
    """The agent saw the conversation up to `seq` (console.js, when live messages arrive)."""
    conversation = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    await service.mark_read(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation.id,
        agent_id=ctx.agent.id,
        seq=min(seq, conversation.last_seq),
    )
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/timeline")
async def timeline(
    conversation_id: IdPath,
    after_seq: int = Query(default=0, ge=0, le=MAX_SEQ),
    after_event: int = Query(default=0, ge=0, le=MAX_ID),
    ctx: Console = Depends(console),
) -> JSONResponse:
    """What console.js missed: messages after a seq and system lines after an event id."""
    conversation = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    contact = await contacts.get(
        ctx.session, workspace_id=ctx.workspace_id, contact_id=conversation.contact_id
    )
    _agent_list, agents, _team_list, teams = await names_of(ctx)
    contact_name = display_name(ctx, contact, contact.id)
    messages = await service.messages_after(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation_id,
        after_seq=after_seq,
        include_private=True,
    )
    events = [
        e
        for e in await service.events(
            ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
        )
        if e.id > after_event
    ]
    lines = [{"id": e.id, "text": event_line(ctx, e, agents, teams)} for e in events]
    return JSONResponse(
        {
            "conversation_id": conversation_id,
            "messages": [message_item(ctx, m, agents, contact_name) for m in messages],
            "events": [line for line in lines if line["text"]],
            "last_event_id": events[-1].id if events else after_event,
        }
    )


@router.post("/conversations/{conversation_id}/messages")
async def reply(
    conversation_id: IdPath,
    content: str = Form(default=""),
    private: str | None = Form(default=None),
    client_id: str | None = Form(default=None),
    attachments: str = Form(default="", max_length=1000),
    via_inbox_id: int | None = Form(default=None, ge=1, le=MAX_ID),
    ctx: Console = Depends(console),
):
    """Send a reply, or a private note when `private` is ticked; `attachments`: uploaded ids;
    `via_inbox_id`: the channel picked next to the reply box (default: the conversation's)."""
    conversation = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    is_note = private not in (None, "", "0", "false", "off")
    try:
        message, _created = await agent_message(
            ctx.session,
            conversation=conversation,
            content=content,
            agent_id=ctx.agent.id,
            private=is_note,
            client_id=client_id or None,
            attachment_ids=[a for a in attachments.split(",") if a.strip()][:10],
            via_inbox_id=via_inbox_id,
        )
    except AppError as exc:
        if exc.code == "empty_message":
            exc.message = ctx.t("console.error.empty")
        elif (key := f"send.error.{exc.code}") != ctx.t(key):  # a channel's refusal, in the agent's words
            exc.message = ctx.t(key)
        raise
    await service.mark_read(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation_id,
        agent_id=ctx.agent.id,
        seq=message.seq,
    )
    await ctx.session.commit()  # acknowledge only what is stored
    if "application/json" in ctx.request.headers.get("accept", "") or ctx.is_htmx:
        item = message_item(ctx, message, {ctx.agent.id: ctx.agent.name}, "")
        return JSONResponse(item, status_code=201)
    return RedirectResponse(f"/console/conversations/{conversation_id}", status_code=303)


async def _actions(ctx: Console, conversation: Conversation):
    """The header/actions fragment; the HX-Trigger asks console.js to pull the new system line."""
    agent_list, agents, team_list, teams = await names_of(ctx)
    response = ctx.render(
        "console/_actions.html",
        {
            "conversation": conversation,
            "agents": agent_list,
            "agents_by_id": agents,
            "teams": team_list,
            "teams_by_id": teams,
            "statuses": STATUSES,
        },
    )
    response.headers["HX-Trigger"] = "sodam:timeline"
    return response


@router.get("/conversations/{conversation_id}/actions")
async def actions_fragment(conversation_id: IdPath, ctx: Console = Depends(console)):
    conversation = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    return await _actions(ctx, conversation)


@router.post("/conversations/{conversation_id}/assign")
async def assign(
    conversation_id: IdPath,
    assignee: str = Form(default=""),
    team: str | None = Form(default=None),
    ctx: Console = Depends(console),
):
    """assignee: "me", an agent id or "" (nobody); team: a team id, "" (none) or absent (unchanged)."""
    conversation = await service.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    if assignee == "me":
        assignee_id: int | None = ctx.agent.id
    elif assignee.isdigit():
        assignee_id = (
            await accounts.get_agent(ctx.session, workspace_id=ctx.workspace_id, agent_id=int(assignee))
        ).id
    elif assignee == "keep":
        assignee_id = conversation.assignee_id
    else:
        assignee_id = None
    team_id = None
    if team and team.isdigit():
        team_id = (await accounts.get_team(ctx.session, workspace_id=ctx.workspace_id, team_id=int(team))).id
    conversation = await service.assign(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation_id,
        assignee_id=assignee_id,
        team_id=team_id,
        set_team=team is not None,
        actor_id=ctx.agent.id,
    )
    await ctx.session.commit()
    return await _actions(ctx, conversation)


@router.post("/conversations/{conversation_id}/status")
async def change_status(conversation_id: IdPath, status: str = Form(...), ctx: Console = Depends(console)):
    if status not in STATUSES:
        raise Invalid(ctx.t("console.error.invalid_status"), code="invalid_status")
    conversation = await service.set_status(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation_id,
        status=Status(status),
        actor_id=ctx.agent.id,
    )
    await ctx.session.commit()
    return await _actions(ctx, conversation)


@router.post("/conversations/{conversation_id}/tags")
async def change_tags(conversation_id: IdPath, tags: str = Form(default=""), ctx: Console = Depends(console)):
    """Tags as one comma-separated field."""
    conversation = await service.set_tags(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation_id,
        tags=[t for t in tags.replace("\n", ",").split(",") if t.strip()],
        actor_id=ctx.agent.id,
    )
    await ctx.session.commit()
    return await _actions(ctx, conversation)
