"""What the console's inbox pages show, computed for one agent: the list (views, filters, the
SLA badge of each row, the waiting time) and one conversation (its messages with their senders'
names, the contact, the reply channels). Routes are in `views`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sodam.accounts import service as accounts
from sodam.accounts.sessions import Console
from sodam.channels import service as inboxes
from sodam.config import get_settings
from sodam.contacts import service as contacts
from sodam.contacts import visits
from sodam.conversations import reply_channels, service
from sodam.conversations.event_lines import event_line
from sodam.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from sodam.conversations.schemas import message_out
from sodam.core.params import MAX_SEQ

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


def view_filters(view: str | None, status: str | None) -> tuple[str, str]:
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
            "contact_name": display_name(ctx, people.get(c.contact_id), c.contact_id),
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


def display_name(ctx: Console, contact, contact_id: int) -> str:
    if contact is not None and (contact.name or contact.email):
        return contact.name or contact.email
    return ctx.t("console.contact.anonymous", id=contact_id)


async def names_of(ctx: Console) -> tuple[list, dict[int, str], list, dict[int, str]]:
    agent_list = await accounts.list_agents(ctx.session, workspace_id=ctx.workspace_id)
    team_list = await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id)
    return agent_list, {a.id: a.name for a in agent_list}, team_list, {t.id: t.name for t in team_list}


def message_item(ctx: Console, m: Message, agents: dict[int, str], contact_name: str) -> dict[str, Any]:
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
    agent_list, agents, team_list, teams = await names_of(ctx)
    contact_name = display_name(ctx, contact, contact.id)
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
        {"at": m.created_at, "message": message_item(ctx, m, agents, contact_name)} for m in messages
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
