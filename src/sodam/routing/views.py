"""Console: the availability switch in the rail (every agent), the routing settings page
(capacity, skills, rules, team methods) and the live queue (`routing.manage`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.core.errors import AppError
from sodam.core.pagination import MAX_ID
from sodam.routing import queue, service
from sodam.routing.api import agents_out
from sodam.routing.models import Availability, RuleKind

router = APIRouter(prefix="/console", include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Manager = Annotated[Console, Depends(console_access(Permission.routing_manage))]
Field = Annotated[str, Form(max_length=400)]
CAPACITY_CHANNELS = ("default", "web_widget", "email", "api", "phone")


def labels(ctx: Console) -> dict[str, dict[str, str]]:
    """The words for states, channels and rule kinds in the agent's language."""
    return {
        "state": {a.value: ctx.t(f"routing.state.{a.value}") for a in Availability},
        "channel": {c: ctx.t(f"routing.channel.{c}") for c in CAPACITY_CHANNELS},
        "kind": {k.value: ctx.t(f"routing.kind.{k.value}") for k in RuleKind},
    }


async def _availability_fragment(ctx: Console, *, error: str | None = None):
    me = (await agents_out(ctx.session, workspace_id=ctx.workspace_id, agent_ids=[ctx.agent.id]))[0]
    return ctx.render(
        "routing/_availability.html",
        {"me": me, "states": [a.value for a in Availability], "error": error, "labels": labels(ctx)},
    )


@router.get("/availability")
async def availability(ctx: Annotated[Console, Depends(console)]):
    """The rail's switch (loaded by htmx on every page)."""
    return await _availability_fragment(ctx)


@router.post("/availability")
async def set_availability(ctx: Annotated[Console, Depends(console)], availability: Field = ""):
    try:
        chosen = Availability(availability)
    except ValueError:
        return await _availability_fragment(ctx, error=ctx.t("routing.error.availability"))
    await service.set_availability(
        ctx.session,
        workspace_id=ctx.workspace_id,
        agent_id=ctx.agent.id,
        availability=chosen,
        chosen=chosen != Availability.online,
        reason="chosen",
    )
    await ctx.session.commit()
    return await _availability_fragment(ctx)


def _reason(ctx: Console, exc: AppError) -> str:
    known = {
        "invalid_capacity",
        "invalid_skill",
        "invalid_skill_level",
        "invalid_rule_kind",
        "invalid_rule_pattern",
        "invalid_rule_action",
        "team_not_found",
        "invalid_routing_method",
    }
    return ctx.t(f"routing.error.{exc.code}") if exc.code in known else ctx.t("routing.error.invalid")


async def _settings_page(
    ctx: Console, *, error: str | None = None, notice: str | None = None, status_code=200
):
    teams = await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "routing/settings.html",
        {
            "section": "routing",
            "agents": await agents_out(ctx.session, workspace_id=ctx.workspace_id),
            "rules": await service.list_rules(ctx.session, workspace_id=ctx.workspace_id),
            "teams": teams,
            "team_names": {t.id: t.name for t in teams},
            "channels": CAPACITY_CHANNELS,
            "kinds": [k.value for k in RuleKind],
            "labels": labels(ctx),
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/settings/routing")
async def settings_page(ctx: Manager):
    return await _settings_page(ctx)


def parse_skills(text: str) -> dict[str, str]:
    """ "lang:ko=5, topic:refund=3, vip" → {"lang:ko": "5", "topic:refund": "3", "vip": "3"}."""
    out: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, level = part.partition("=")
        out[name.strip()] = level.strip() or "3"
    return out


@router.post("/settings/routing/agents/{agent_id}")
async def update_agent(agent_id: Id, request: Request, ctx: Manager):
    form = await request.form()
    capacity = {c: str(form.get(f"capacity_{c}", "")).strip() for c in CAPACITY_CHANNELS}
    capacity = {c: v for c, v in capacity.items() if v != ""}
    try:
        await service.update_agent_routing(
            ctx.session,
            workspace_id=ctx.workspace_id,
            agent_id=agent_id,
            capacity=capacity,
            skills=parse_skills(str(form.get("skills", ""))[:2000]),
        )
    except AppError as exc:  # refused before anything was written
        return await _settings_page(ctx, error=_reason(ctx, exc), status_code=exc.status_code)
    await ctx.session.commit()
    return await _settings_page(ctx, notice=ctx.t("routing.saved"))


@router.post("/settings/routing/rules")
async def create_rule(
    ctx: Manager,
    kind: Field = "",
    pattern: Field = "",
    skill: Field = "",
    team_id: Field = "",
):
    try:
        await service.create_rule(
            ctx.session,
            workspace_id=ctx.workspace_id,
            kind=kind,
            pattern=pattern,
            skill=skill.strip() or None,
            team_id=int(team_id) if team_id.strip().isdigit() else None,
        )
    except AppError as exc:  # refused before anything was written
        return await _settings_page(ctx, error=_reason(ctx, exc), status_code=exc.status_code)
    await ctx.session.commit()
    return await _settings_page(ctx, notice=ctx.t("routing.rule_added"))


@router.post("/settings/routing/rules/{rule_id}/delete")
async def delete_rule(rule_id: Id, ctx: Manager):
    try:
        await service.delete_rule(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    except AppError as exc:
        return await _settings_page(ctx, error=_reason(ctx, exc), status_code=exc.status_code)
    await ctx.session.commit()
    return await _settings_page(ctx, notice=ctx.t("routing.rule_deleted"))


@router.post("/settings/routing/team-methods/{team_id}")
async def set_team_method(team_id: Id, ctx: Manager, method: Field = ""):
    try:
        await service.set_team_method(
            ctx.session, workspace_id=ctx.workspace_id, team_id=team_id, method=method
        )
    except AppError as exc:
        return await _settings_page(ctx, error=_reason(ctx, exc), status_code=exc.status_code)
    await ctx.session.commit()
    return await _settings_page(ctx, notice=ctx.t("routing.saved"))


async def _queue_context(ctx: Console) -> dict:
    teams = [(t.id, t.name) for t in await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id)]
    view = await queue.live_view(ctx.session, workspace_id=ctx.workspace_id, teams=teams)
    return {
        "view": view,
        "agents": await agents_out(ctx.session, workspace_id=ctx.workspace_id),
        "minutes": queue.minutes,
        "states": [a.value for a in Availability],
        "labels": labels(ctx),
    }


@router.get("/queue")
async def queue_page(ctx: Manager):
    return ctx.render("routing/queue.html", {"section": "queue", **await _queue_context(ctx)})


@router.get("/queue/live")
async def queue_live(ctx: Manager):
    """The live part of the queue page (refreshed by htmx when the socket says something moved)."""
    return ctx.render("routing/_queue_live.html", await _queue_context(ctx))
