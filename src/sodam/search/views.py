"""Console: 대화 검색 — search box and filters; each hit opens its conversation at the message."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query

from sodam.accounts import service as accounts
from sodam.accounts.sessions import Console, console
from sodam.channels import service as inboxes
from sodam.contacts import service as contacts
from sodam.conversations.models import Status
from sodam.core.errors import AppError
from sodam.core.pagination import MAX_ID, decode_cursor, encode_cursor
from sodam.core.templating import SHOWN_ZONE
from sodam.search import service
from sodam.search.service import MAX_QUERY_CHARS, Filters

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 25
STATUSES = tuple(s.value for s in Status)


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()) if raw else None
    except ValueError:
        return None


def _start_of(day: date | None) -> datetime | None:
    """Midnight of that day in the console's time zone (the dates the agent picks are local)."""
    return datetime.combine(day, time(0), tzinfo=SHOWN_ZONE) if day else None


@router.get("/search")
async def search_page(
    ctx: Console = Depends(console),
    q: str | None = Query(default=None, max_length=MAX_QUERY_CHARS),
    status: str | None = Query(default=None),
    inbox: str | None = Query(default=None),
    team: str | None = Query(default=None),
    assignee: str | None = Query(default=None),
    tag: str | None = Query(default=None, max_length=60),
    contact: str | None = Query(default=None),
    since: str | None = Query(default=None),
    until: str | None = Query(default=None),
    after: str | None = Query(default=None, max_length=300),
):
    """The search page; with `q`, one page of hits (newest first) and a link to the next."""
    since_day, until_day = _day(since), _day(until)
    form = {
        "q": q or "",
        "status": status if status in STATUSES else "",
        "inbox": _int(inbox),
        "team": _int(team),
        "assignee": assignee if assignee in ("me", "none") else _int(assignee),
        "tag": (tag or "").strip(),
        "contact": _int(contact),
        "since": since_day.isoformat() if since_day else "",
        "until": until_day.isoformat() if until_day else "",
    }
    hits, terms, error, next_after = [], [], None, None
    if form["q"].strip():
        position = None
        if after:
            try:
                p = decode_cursor(after, "console_search", {"at": str, "id": int})
                position = (datetime.fromisoformat(p["at"]), p["id"])
            except (AppError, ValueError):
                position = None
        filters = Filters(
            status=Status(form["status"]) if form["status"] else None,
            inbox_id=form["inbox"],
            team_id=form["team"],
            assignee_id=ctx.agent.id if form["assignee"] == "me" else _int(str(form["assignee"] or "")),
            unassigned=form["assignee"] == "none",
            tag=form["tag"] or None,
            contact_id=form["contact"],
            since=_start_of(since_day),
            until=_start_of(until_day + timedelta(days=1)) if until_day else None,
        )
        try:
            hits, terms = await service.search(
                ctx.session,
                workspace_id=ctx.workspace_id,
                query=form["q"],
                filters=filters,
                after=position,
                limit=PAGE + 1,
            )
        except AppError as exc:
            key = f"search.error.{exc.code}"
            error = ctx.t(key) if ctx.t(key) != key else exc.message
        if len(hits) > PAGE:
            hits = hits[:PAGE]
            last = hits[-1].message
            next_after = encode_cursor("console_search", {"at": last.created_at.isoformat(), "id": last.id})
    people = await contacts.get_many(
        ctx.session, workspace_id=ctx.workspace_id, ids=list({h.conversation.contact_id for h in hits})
    )
    agent_list = await accounts.list_agents(ctx.session, workspace_id=ctx.workspace_id)
    agents = {a.id: a.name for a in agent_list}
    rows = []
    for h in hits:
        person = people.get(h.conversation.contact_id)
        m = h.message
        if m.sender_type.value == "agent":
            sender = agents.get(m.sender_id or 0, "")
        elif m.sender_type.value == "contact":
            sender = ""  # the contact's name heads the row already
        else:
            sender = ctx.t("console.bot") if m.sender_type.value == "bot" else ctx.t("console.system")
        rows.append(
            {
                "hit": h,
                "contact_name": (person.name or person.email if person else None)
                or ctx.t("console.contact.anonymous", id=h.conversation.contact_id),
                "sender": sender,
                "note": m.kind.value == "note",
            }
        )
    return ctx.render(
        "search/search.html",
        {
            "section": "search",
            "form": form,
            "rows": rows,
            "terms": terms,
            "error": error,
            "next_url": (
                "/console/search?"
                + urlencode(
                    {
                        **{k: v for k, v in ctx.request.query_params.items() if k != "after"},
                        "after": next_after,
                    }
                )
                if next_after
                else None
            ),
            "statuses": STATUSES,
            "inboxes": await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id),
            "teams": await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id),
            "agents": agent_list,
        },
    )
