"""Console: the inbox (conversation list), the conversation view, replies, notes and actions.

Pages are server-rendered; htmx swaps fragments for actions, console.js keeps the
open conversation live from the agents' socket. Every query is scoped to the
signed-in agent's workspace, so another workspace's ids are simply "not found".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sodam.accounts import service as accounts
from sodam.accounts.sessions import Console, console
from sodam.audit import service as audit
from sodam.channels import service as inboxes
from sodam.config import get_settings
from sodam.contacts import service as contacts
from sodam.contacts import visits
from sodam.conversations import reply_channels, service
from sodam.conversations.event_lines import event_line
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from sodam.conversations.schemas import message_out
from sodam.conversations.with_attachments import agent_message
from sodam.core.errors import AppError, Invalid
from sodam.core.params import MAX_ID, MAX_SEQ, IdPath

router = APIRouter(prefix="/console", include_in_schema=False)

VIEWS = ("mine", "unassigned", "bot", "all")
STATUSES = tuple(s.value for s in Status)
PAGE_MESSAGES = 500


def message_class(message: Message) -> str:
    """The CSS class console.js computes the same way (keep them in step)."""
    if message.kind == MessageKind.note:
        return "msg-note"
    if message.kind == MessageKind.system:
        return "msg-system"
    if message.kind == MessageKind.bot or message.sender_type == SenderType.bot:
        return "msg-bot"
    if message.sender_type == SenderType.contact:
        return "msg-incoming"
    return "msg-outgoing"


def waiting(ctx: Console, since: datetime | None, now: datetime | None = None) -> str:
    """'3분' / '3m': how long since the last activity."""
    if since is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    if seconds < 60:
        return ctx.t("console.time.now")
    if seconds < 3600:
        return ctx.t("console.time.minutes", n=seconds // 60)
    if seconds < 86400:
        return ctx.t("console.time.hours", n=seconds // 3600)
    return ctx.t("console.time.days", n=seconds // 86400)


SLA_WARN_AT = 0.75  # amber from three quarters of the target on
SORTS = ("recent", "due")


def _stored_sla(c: Conversation, now: datetime) -> dict[str, str] | None:
    """The nearest running clock of the conversation's SLA policy (sla domain, stored on the
    conversation): its due time, when it turns amber, its kind and the state now."""
    clocks = [
        (datetime.fromisoformat(v["due"]), k, v) for k, v in (c.sla_clocks or {}).items() if v.get("due")
    ]
    if not clocks:
        return None
    due, kind, clock = min(clocks, key=lambda item: item[0])
    warn = datetime.fromisoformat(clock["warn"])
    state = "breached" if now >= due else "warn" if now >= warn else "ok"
    return {"due": due.isoformat(), "warn": warn.isoformat(), "state": state, "kind": kind}


async def _sla(
    ctx: Console, rows: list[Conversation], now: datetime, inbox_list: list
) -> dict[int, dict[str, str]]:
    """SLA per open conversation: the stored due times of its SLA policy; without a policy,
    the first-reply target of its inbox (due time, the time it turns amber, and the state now:
    ok / warn / breached). console.js re-colours the badges as time passes."""
    out = {}
    for c in rows:
        stored = _stored_sla(c, now)
        if stored:
            out[c.id] = stored
    targets = {inbox.id: int((inbox.settings or {}).get("sla_first_reply_s") or 0) for inbox in inbox_list}
    wanted = [c for c in rows if targets.get(c.inbox_id) and c.id not in out and c.sla_policy_id is None]
    waiting_since = await service.awaiting_reply_since(
        ctx.session, workspace_id=ctx.workspace_id, conversation_ids=[c.id for c in wanted]
    )
    for c in wanted:
        since = waiting_since.get(c.id)
        if since is None:
            continue
        target = timedelta(seconds=targets[c.inbox_id])
        due, warn = since + target, since + target * SLA_WARN_AT
        state = "breached" if now >= due else "warn" if now >= warn else "ok"
        out[c.id] = {
            "due": due.isoformat(),
            "warn": warn.isoformat(),
            "state": state,
            "kind": "first_response",
        }
    return out


def _filters(view: str | None, status: str | None) -> tuple[str, str]:
    return (view if view in VIEWS else "all", status if status in STATUSES else "open")


async def list_context(
    ctx: Console, *, view: str, status: str, selected_id: int | None = None, sort: str | None = None
) -> dict:
    """Rows for the conversation list pane, with contact names and waiting times; sort
    "due" puts the nearest SLA due time first (기한 임박순)."""
    sort = sort if sort in SORTS else "recent"
    rows = await service.list_(
        ctx.session,
        workspace_id=ctx.workspace_id,
        agent_id=ctx.agent.id,
        view=view,
        status=Status(status),
        limit=100,
        order=sort,
    )
    people = await contacts.get_many(
        ctx.session, workspace_id=ctx.workspace_id, ids=[c.contact_id for c in rows]
    )
    now = datetime.now(UTC)
    unread = await service.unread_ids(
        ctx.session,
        workspace_id=ctx.workspace_id,
        agent_id=ctx.agent.id,
        conversation_ids=[c.id for c in rows],
    )
    inbox_list = await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)
    channels = {inbox.id: inbox.channel_type.value for inbox in inbox_list}
    sla = await _sla(ctx, [c for c in rows if c.status == Status.open], now, inbox_list)
    items = [
        {
            "conversation": c,
            "unread": c.id in unread and c.id != selected_id,
            "sla": sla.get(c.id),
            "contact_name": _contact_name(ctx, people.get(c.contact_id), c.contact_id),
            "waiting": waiting(ctx, c.last_message_at or c.created_at, now),
            "since": (c.last_message_at or c.created_at).isoformat(),
            "mine": c.assignee_id == ctx.agent.id,
            "channel": channels.get(c.inbox_id),
        }
        for c in rows
    ]
    counts = await service.counts(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    return {
        "rows": items,
        "view": view,
        "status": status,
        "counts": counts,
        "selected_id": selected_id,
        "views": VIEWS,
        "statuses": STATUSES,
        "sort": sort,
        "sorts": SORTS,
    }


def _contact_name(ctx: Console, contact, contact_id: int) -> str:
    if contact is not None and (contact.name or contact.email):
        return contact.name or contact.email
    return ctx.t("console.contact.anonymous", id=contact_id)


async def _names(ctx: Console) -> tuple[list, dict[int, str], list, dict[int, str]]:
    agent_list = await accounts.list_agents(ctx.session, workspace_id=ctx.workspace_id)
    team_list = await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id)
    return agent_list, {a.id: a.name for a in agent_list}, team_list, {t.id: t.name for t in team_list}


def _message_item(ctx: Console, m: Message, agents: dict[int, str], contact_name: str) -> dict[str, Any]:
    if m.sender_type == SenderType.agent:
        sender = agents.get(m.sender_id or 0, ctx.t("console.agent.unknown"))
    elif m.sender_type == SenderType.contact:
        sender = contact_name
    elif m.sender_type == SenderType.bot:
        sender = ctx.t("console.bot")
    else:
        sender = ctx.t("console.system")
    return {**message_out(m, sender), "css": message_class(m)}


async def conversation_context(
    ctx: Console, conversation: Conversation, focus: Message | None = None
) -> dict:
    """Everything the centre and right panes show for one conversation (from `focus` on
    when that message, e.g. a search hit, is older than the last page)."""
    contact = await contacts.get(
        ctx.session, workspace_id=ctx.workspace_id, contact_id=conversation.contact_id
    )
    inbox = await inboxes.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=conversation.inbox_id)
    agent_list, agents, team_list, teams = await _names(ctx)
    contact_name = _contact_name(ctx, contact, contact.id)
    messages = await service.messages_after(
        ctx.session,
        workspace_id=ctx.workspace_id,
        conversation_id=conversation.id,
        after_seq=min(
            max(0, conversation.last_seq - PAGE_MESSAGES), max(0, focus.seq - 20) if focus else MAX_SEQ
        ),
        include_private=True,
        limit=PAGE_MESSAGES,
    )
    events = await service.events(ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation.id)
    timeline: list[dict[str, Any]] = [
        {"at": m.created_at, "message": _message_item(ctx, m, agents, contact_name)} for m in messages
    ]
    for e in events:
        line = event_line(ctx, e, agents, teams)
        if line:
            timeline.append({"at": e.created_at, "event": {"id": e.id, "text": line}})
    timeline.sort(key=lambda item: item["at"])
    past = await service.list_(
        ctx.session, workspace_id=ctx.workspace_id, contact_id=contact.id, status=None, limit=10
    )
    # One timeline: where an answer can go, and each message's channel where they mix.
    channel_options, default_inbox_id = await reply_channels.options(
        ctx.session, conversation=conversation, contact=contact
    )
    own_channel = reply_channels.channel_name(inbox)
    mixed = any(
        ((item["message"].get("payload") or {}).get("via") or {}).get("channel", own_channel) != own_channel
        for item in timeline
        if "message" in item
    )
    return {
        "conversation": conversation,
        "contact": contact,
        "contact_name": contact_name,
        "inbox": inbox,
        "timeline": timeline,
        "last_event_id": events[-1].id if events else 0,
        "agents": agent_list,
        "agents_by_id": agents,
        "teams": team_list,
        "teams_by_id": teams,
        "statuses": STATUSES,
        "past_conversations": [c for c in past if c.id != conversation.id],
        "visit": await visits.latest_visit(ctx.session, workspace_id=ctx.workspace_id, contact_id=contact.id),
        "max_chars": get_settings().max_message_chars,
        "focus_message_id": focus.id if focus else None,
        "reply_channels": channel_options,
        "reply_default": default_inbox_id,
        "own_channel": own_channel,
        "mixed_channels": mixed,
        # What console.js asks the rest after (less than last_seq when opened at an old message).
        "shown_last_seq": messages[-1].seq if messages else conversation.last_seq,
    }


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
    view, status = _filters(view, status)
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
    view, status = _filters(view, status)
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
    view, status = _filters(view, status)
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
    _agent_list, agents, _team_list, teams = await _names(ctx)
    contact_name = _contact_name(ctx, contact, contact.id)
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
            "messages": [_message_item(ctx, m, agents, contact_name) for m in messages],
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
        item = _message_item(ctx, message, {ctx.agent.id: ctx.agent.name}, "")
        return JSONResponse(item, status_code=201)
    return RedirectResponse(f"/console/conversations/{conversation_id}", status_code=303)


async def _actions(ctx: Console, conversation: Conversation):
    """The header/actions fragment; the HX-Trigger asks console.js to pull the new system line."""
    agent_list, agents, team_list, teams = await _names(ctx)
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
