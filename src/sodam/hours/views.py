"""Console: the business-hours editor (운영 시간) of an inbox and of a team (매니저 and admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.channels import service as inboxes
from sodam.channels.promise import when_text
from sodam.core.params import IdPath
from sodam.hours import calendar, service, validate

router = APIRouter(prefix="/console/settings/hours", include_in_schema=False)
manage_hours = console_access(Permission.hours_manage)


def problem_text(ctx: Console, problem: validate.Problem) -> str:
    """ "월요일: 09:00-12:00과(와) 11:00-13:00이(가) 겹칩니다." """
    where = problem.field.split(".")
    label = (
        ctx.t(f"hours.day.{where[1]}")
        if where[0] == "days" and len(where) > 1
        else ctx.t(f"hours.field.{where[0]}")
    )
    return ctx.t(
        "hours.error.where", where=label, message=ctx.t(f"hours.error.{problem.code}", **problem.params)
    )


def _holidays(ctx: Console, country: str | None) -> list[dict[str, str]]:
    if not country:
        return []
    today = datetime.now(UTC).date()
    found = []
    for year in (today.year, today.year + 1):
        for day, name in calendar.holiday_names(
            country, year, "ko" if ctx.locale == "ko" else "en_US"
        ).items():
            if day >= today:
                found.append({"date": day.isoformat(), "name": name})
    return found[:20]


def _page(
    ctx: Console,
    *,
    owner: str,
    owner_id: int,
    name: str,
    form: dict[str, str],
    config: dict[str, Any] | None,
    inherit: bool = False,
    problems: list[validate.Problem] | None = None,
    saved: bool = False,
):
    now = datetime.now(UTC)
    opening = calendar.next_opening(config, now) if config else None
    return ctx.render(
        "hours/edit.html",
        {
            "section": "settings",
            "owner": owner,
            "owner_id": owner_id,
            "owner_name": name,
            "form": form,
            "inherit": inherit,
            "days": calendar.DAYS,
            "countries": validate.COUNTRIES,
            "errors": [problem_text(ctx, p) for p in problems or []],
            "bad_fields": {p.field for p in problems or []},
            "saved": saved,
            "open_now": bool(config) and calendar.is_open(config, now),
            "opening": when_text(opening, now, ctx.locale) if opening else None,
            "holidays": _holidays(ctx, (config or {}).get("holiday_country")),
        },
        status_code=422 if problems else 200,
    )


@router.get("")
async def hours_index(ctx: Console = Depends(manage_hours)):
    """Every inbox and team, with a link to its hours."""
    inbox_list = await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)
    teams = await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render("hours/index.html", {"section": "settings", "inboxes": inbox_list, "teams": teams})


@router.get("/inboxes/{inbox_id}")
async def inbox_hours(inbox_id: IdPath, ctx: Console = Depends(manage_hours)):
    inbox = await inboxes.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    config = await service.inbox_hours(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    return _page(
        ctx, owner="inboxes", owner_id=inbox.id, name=inbox.name, form=validate.to_form(config), config=config
    )


@router.post("/inboxes/{inbox_id}")
async def save_inbox_hours(inbox_id: IdPath, request: Request, ctx: Console = Depends(manage_hours)):
    """Invalid hours re-render the editor with every problem named and nothing saved."""
    inbox = await inboxes.get(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    config, problems = validate.from_form(form)
    if problems:
        return _page(
            ctx,
            owner="inboxes",
            owner_id=inbox.id,
            name=inbox.name,
            form=form,
            config=None,
            problems=problems,
        )
    config = await service.save_inbox_hours(
        ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id, config=config
    )
    await ctx.session.commit()
    return _page(
        ctx,
        owner="inboxes",
        owner_id=inbox.id,
        name=inbox.name,
        form=validate.to_form(config),
        config=config,
        saved=True,
    )


@router.get("/teams/{team_id}")
async def team_hours(team_id: IdPath, ctx: Console = Depends(manage_hours)):
    team = await accounts.get_team(ctx.session, workspace_id=ctx.workspace_id, team_id=team_id)
    config = team.business_hours
    return _page(
        ctx,
        owner="teams",
        owner_id=team.id,
        name=team.name,
        form=validate.to_form(config or calendar.DEFAULT_HOURS),
        config=config,
        inherit=config is None,
    )


@router.post("/teams/{team_id}")
async def save_team_hours(team_id: IdPath, request: Request, ctx: Console = Depends(manage_hours)):
    team = await accounts.get_team(ctx.session, workspace_id=ctx.workspace_id, team_id=team_id)
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    inherit = form.get("inherit") in ("1", "on")
    config = None
    if not inherit:
        config, problems = validate.from_form(form)
        if problems:
            return _page(
                ctx,
                owner="teams",
                owner_id=team.id,
                name=team.name,
                form=form,
                config=None,
                problems=problems,
            )
    saved = await service.save_team_hours(
        ctx.session, workspace_id=ctx.workspace_id, team_id=team_id, config=config
    )
    await ctx.session.commit()
    return _page(
        ctx,
        owner="teams",
        owner_id=team.id,
        name=team.name,
        form=validate.to_form(saved or calendar.DEFAULT_HOURS),
        config=saved,
        inherit=saved is None,
        saved=True,
    )
