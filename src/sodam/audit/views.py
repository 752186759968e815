"""Console: the audit log under settings (audit.read), with filters, paging and export."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.audit import service
from sodam.audit.api import export_response
from sodam.audit.schemas import TARGET_TYPES, AuditFilters
from sodam.core.pagination import MAX_ID

router = APIRouter(prefix="/console/settings/audit", include_in_schema=False)

PAGE_SIZE = 50
read_audit = console_access(Permission.audit_read)
# Dates in the filter and times in the table are Korean time: the console's default zone.
SHOWN_ZONE = ZoneInfo("Asia/Seoul")
Id = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters(
    actor: Annotated[str, Query(max_length=40, pattern=r"^(|system|agent:\d{1,19}|token:\d{1,19})$")] = "",
    target_type: Annotated[str, Query(max_length=40, pattern=r"^[a-z_]*$")] = "",
    action: Annotated[str, Query(max_length=60, pattern=r"^[a-z_.]*$")] = "",
    # Plain strings: an empty form field means "any", not a 422.
    target_id: Annotated[str, Query(max_length=19, pattern=r"^\d*$")] = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
) -> tuple[AuditFilters, dict]:
    """Console filters -> service filters, plus the form's values to show them again."""
    target = int(target_id) if target_id and 0 < int(target_id) <= MAX_ID else None
    start, end = _date(date_from), _date(date_to)
    actor_type = agent_id = token_id = None
    if actor == "system":
        actor_type = "system"
    elif actor.startswith("agent:"):
        actor_type, agent_id = "agent", int(actor[6:])
    elif actor.startswith("token:"):
        actor_type, token_id = "token", int(actor[6:])
    since = datetime.combine(start, time.min, SHOWN_ZONE) if start else None
    until = (
        datetime.combine(end + timedelta(days=1), time.min, SHOWN_ZONE) if end and end < date.max else None
    )
    action_filter = action or (f"{target_type}." if target_type else None)
    filters = AuditFilters(
        actor_type=actor_type,
        agent_id=min(agent_id, MAX_ID) if agent_id else None,
        token_id=min(token_id, MAX_ID) if token_id else None,
        action=action_filter,
        target_type=None,
        target_id=target,
        since=since,
        until=until,
    )
    form = {
        "actor": actor,
        "target_type": target_type,
        "action": action,
        "target_id": target or "",
        "date_from": start.isoformat() if start else "",
        "date_to": end.isoformat() if end else "",
    }
    return filters, form


Filters = Annotated[tuple[AuditFilters, dict], Depends(_filters)]


async def _names(session: AsyncSession, workspace_id: int) -> tuple[dict[int, str], dict[int, str]]:
    agents = {a.id: a.name for a in await accounts.list_agents(session, workspace_id=workspace_id)}
    tokens = {t.id: t.name for t in await accounts.list_api_tokens(session, workspace_id=workspace_id)}
    return agents, tokens


def _label(ctx: Console, key: str, fallback: str) -> str:
    text = ctx.t(key)
    return fallback if text == key else text


@router.get("")
async def audit_page(
    filters: Filters,
    before: Id = None,
    ctx: Console = Depends(read_audit),
):
    """The newest entries matching the filters; "more" loads the next page in place."""
    audit_filters, form = filters
    rows = await service.list_page(
        ctx.session,
        workspace_id=ctx.workspace_id,
        before_id=before,
        limit=PAGE_SIZE + 1,
        **audit_filters.as_kwargs(),
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    agents, tokens = await _names(ctx.session, ctx.workspace_id)
    entries = []
    for e in rows:
        if e.actor_type == "token":
            actor = ctx.t(
                "audit.actor.token",
                token=tokens.get(e.token_id or 0, f"#{e.token_id}"),
                agent=agents.get(e.agent_id or 0, "?"),
            )
        elif e.actor_type == "agent":
            actor = agents.get(e.agent_id or 0, f"#{e.agent_id}")
        else:
            actor = ctx.t("audit.actor.system")
        entries.append(
            {
                "entry": e,
                "at": e.created_at.astimezone(SHOWN_ZONE).strftime("%Y-%m-%d %H:%M:%S"),
                "actor": actor,
                "action": _label(ctx, f"audit.action.{e.action}", e.action),
                "target": _label(ctx, f"audit.target.{e.target_type}", e.target_type),
                "fields": ", ".join((e.details or {}).get("fields", [])),
            }
        )
    query = {k: v for k, v in form.items() if v not in ("", None)}
    context = {
        "section": "settings",
        "entries": entries,
        "form": form,
        "query": query,
        "next_before": rows[-1].id if more and rows else None,
        "agents": agents,
        "tokens": tokens,
        "target_types": [(t, _label(ctx, f"audit.target.{t}", t)) for t in TARGET_TYPES],
    }
    if ctx.is_htmx and ctx.request.headers.get("hx-target") == "audit-more":
        return ctx.render("audit/_rows.html", context)
    return ctx.render("audit/log.html", context)


@router.get("/export")
async def export(
    filters: Filters, format: Literal["csv", "jsonl"] = "csv", ctx: Console = Depends(read_audit)
):
    """The filtered log as one file (the export itself is logged)."""
    audit_filters, _form = filters
    await service.record(
        ctx.session,
        action="audit.exported",
        target_type="audit",
        details={"format": format, **audit_filters.as_details()},
    )
    await ctx.session.commit()
    return export_response(ctx.workspace_id, audit_filters, format)
