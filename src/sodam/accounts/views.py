"""Console: login / logout and the settings page (inboxes, agents and teams, API tokens, rate
limits), whose sections each need their permission (accounts/permissions.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service, signins, views_security
from sodam.accounts.models import Role
from sodam.accounts.permissions import SETTINGS_PERMISSIONS, Permission
from sodam.accounts.sessions import (
    Console,
    LoginRequired,
    check_csrf,
    clear_session_cookie,
    console,
    console_access,
    csrf_token_for,
    login_url,
    request_locale,
    safe_next,
    set_csrf_cookie,
    sign_in,
    sign_out,
    wants_html,
)
from sodam.accounts.views_security import second_factor_challenge, throttle
from sodam.channels import service as inboxes
from sodam.config import get_settings
from sodam.core.deps import get_session
from sodam.core.errors import AppError, Forbidden
from sodam.core.i18n import gettext
from sodam.core.params import IdPath
from sodam.core.ratelimit import WORKSPACE_RULES, RateLimited, client_ip, enforce, settings_of
from sodam.core.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)

# The settings page opens for any settings permission and shows the sections of those held.
open_settings = console_access(*sorted(SETTINGS_PERMISSIONS))
manage_tokens = console_access(Permission.tokens_manage)
manage_agents = console_access(Permission.agents_manage)
manage_teams = console_access(Permission.teams_manage)
manage_security = console_access(Permission.security_manage)


def install(app: FastAPI) -> None:
    """Console routes plus the handler that turns "not signed in" into a redirect or a 401."""
    from sodam.channels import views as channel_views
    from sodam.companies import views as company_views
    from sodam.contacts import views as contact_views
    from sodam.contacts import views_data as contact_data_views
    from sodam.contacts import views_merge as contact_merge_views
    from sodam.conversations import views as conversation_views

    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    for module in (
        conversation_views,
        contact_merge_views,  # /console/contacts/{id}/merge, /console/contact-merges/{id}/undo
        contact_views,
        contact_data_views,  # attribute settings, CSV import and export
        company_views,
        channel_views,
    ):
        app.include_router(module.router)
    app.include_router(router)
    views_security.install(app)  # the second sign-in step, the agent's account, sign-in rules


async def _forbidden(request: Request, exc: Forbidden) -> Response:
    """A console page the agent's role may not open: a page saying so (not raw JSON);
    API and fetch callers keep the JSON error body."""
    if request.url.path.startswith("/console") and wants_html(request):
        return render(
            request,
            "console/forbidden.html",
            {"message": exc.message},
            locale=request_locale(request),
            status_code=403,
        )
    return JSONResponse(exc.body(), status_code=exc.status_code)


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    if wants_html(request):
        return RedirectResponse(login_url(request), status_code=303)
    # htmx follows HX-Redirect; fetch callers read the 401.
    return JSONResponse(exc.body(), status_code=401, headers={"HX-Redirect": login_url(request)})


def _login_page(
    request: Request,
    *,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
    retry_after: int | None = None,
):
    locale = request_locale(request)
    token = csrf_token_for(request)
    response = render(
        request,
        "console/login.html",
        {
            "csrf_token": token,
            "email": email,
            "error": error,
            "next": safe_next(request.query_params.get("next")),
        },
        locale=locale,
        status_code=status_code,
        headers={"Retry-After": str(retry_after)} if retry_after else None,
    )
    set_csrf_cookie(response, token)
    return response


def _refused_page(request: Request, email: str, *, locked: bool, retry_after: int):
    """429: signing in must wait (growing delay) or this account / address is locked for now."""
    locale = request_locale(request)
    if locked:
        error = gettext(locale, "console.login.locked", minutes=max(1, math.ceil(retry_after / 60)))
    else:
        error = gettext(locale, "console.login.throttled", seconds=retry_after)
    return _login_page(request, email=email, error=error, status_code=429, retry_after=retry_after)


@router.get("/login")
async def login_form(request: Request):
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    email: str = Form(default=""),
    password: str = Form(default=""),
    next: str = Form(default="/console"),
    session: AsyncSession = Depends(get_session, scope="function"),
):
    """Check the password; on success set the session cookie and go to the console.

    Throttled per account and per IP (accounts/throttle.py): 429 with Retry-After while an
    attempt must wait or the account is locked, whatever the password."""
    await check_csrf(request, request_locale(request))
    settings, ip = settings_of(request), client_ip(request)
    try:
        await enforce(request, ("login_ip", ip))
    except RateLimited as exc:
        return _refused_page(request, email, locked=False, retry_after=exc.decision.retry_after)
    attempt = await throttle.begin_attempt(
        settings=settings, email=email, ip=ip, now=throttle.now_of(request)
    )
    if not attempt.allowed:
        return _refused_page(request, email, locked=attempt.locked, retry_after=attempt.retry_after)
    agent = await service.authenticate(session, email=email, password=password)
    if agent is None:
        if throttle.is_locked_after(settings, attempt):
            if throttle.locks_now(settings, attempt):
                await _notify_locked(session, email=email, ip=ip, failures=attempt.account_failures)
            return _refused_page(request, email, locked=True, retry_after=settings.login_lock_s)
        # One message for unknown e-mail and wrong password: do not reveal who has an account.
        return _login_page(
            request,
            email=email,
            error=gettext(request_locale(request), "console.login.failed"),
            status_code=400,
        )
    if agent.has_two_factor:
        # The account's failure count is reset only once the second factor is right too,
        # so code guesses count toward the same lock as password guesses.
        return second_factor_challenge(agent, safe_next(next))
    await throttle.attempt_succeeded(settings=settings, email=email, ip=ip)
    response = RedirectResponse(safe_next(next), status_code=303)
    await sign_in(session, response, request, agent, second_factor=False)
    return response


async def _notify_locked(session: AsyncSession, *, email: str, ip: str, failures: int) -> None:
    """Tell the account's owner their sign-in was locked (a console notice: no outbound mail yet)."""
    owner = await service.get_agent_by_email(session, email=email)
    if owner is None or not owner.is_active:
        return
    await service.add_notice(
        session,
        workspace_id=owner.workspace_id,
        agent_id=owner.id,
        kind="account_locked",
        details={"ip": ip, "failures": failures, "at": datetime.now(UTC).isoformat(timespec="seconds")},
    )


@router.post("/notices/{notice_id}/read")
async def dismiss_notice(
    notice_id: int, next: str = Form(default="/console"), ctx: Console = Depends(console)
):
    """Dismiss one of the agent's own notices."""
    await service.dismiss_notice(
        ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, notice_id=notice_id
    )
    if ctx.is_htmx:
        return Response(status_code=200, content="")
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(ctx: Console = Depends(console)):
    response = RedirectResponse("/console/login", status_code=303)
    if ctx.is_htmx:
        response = Response(status_code=204, headers={"HX-Redirect": "/console/login"})
    await sign_out(ctx.session, ctx.request, response)
    return response


@router.post("/logout-everywhere")
async def logout_everywhere(ctx: Console = Depends(console)):
    """End every session of this agent (all browsers, all devices)."""
    await service.bump_session_version(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    await signins.revoke_all(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/preferences/locale")
async def set_locale(
    locale: str = Form(...), next: str = Form(default="/console"), ctx: Console = Depends(console)
):
    """The agent's console language (ko / en); the page reloads once to redraw every string."""
    await service.set_agent_locale(
        ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, locale=locale
    )
    if ctx.is_htmx:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return RedirectResponse(safe_next(next), status_code=303)


async def _settings_page(
    ctx: Console,
    *,
    new_token: str | None = None,
    team_error: str | None = None,
    team_notice: str | None = None,
    limits_error: str | None = None,
    limits_notice: str | None = None,
    status_code: int = 200,
):
    """Only the sections the agent may manage are loaded and shown."""
    can_inboxes = ctx.can(Permission.inboxes_manage)
    can_tokens = ctx.can(Permission.tokens_manage)
    can_limits = ctx.can(Permission.security_manage)
    inbox_list = await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id) if can_inboxes else []
    tokens = await service.list_api_tokens(ctx.session, workspace_id=ctx.workspace_id) if can_tokens else []
    agent_list = await service.list_agents(ctx.session, workspace_id=ctx.workspace_id)
    agents = {a.id: a for a in agent_list}
    teams = await service.list_teams(ctx.session, workspace_id=ctx.workspace_id)
    members = await service.member_ids_by_team(
        ctx.session, workspace_id=ctx.workspace_id, team_ids=[t.id for t in teams]
    )
    return ctx.render(
        "console/settings.html",
        {
            "section": "settings",
            "inboxes": inbox_list,
            "tokens": tokens,
            "agent_list": agent_list,
            "teams": teams,
            "members": members,
            "roles": [r.value for r in Role],
            "team_error": team_error,
            "team_notice": team_notice,
            "agents_by_id": agents,
            "new_token": new_token,
            "base_url": get_settings().base_url(),
            "rate_limits": await _rate_limits(ctx) if can_limits else {},
            "rate_limit_labels": {rule: ctx.t(f"console.limits.rule.{rule}") for rule in WORKSPACE_RULES},
            "limits_error": limits_error,
            "limits_notice": limits_notice,
        },
        status_code=status_code,
    )


async def _rate_limits(ctx: Console) -> dict:
    workspace = await service.get_workspace(ctx.session, workspace_id=ctx.workspace_id)
    return service.rate_limits_in_force(settings=settings_of(ctx.request), overrides=workspace.rate_limits)[
        "rules"
    ]


@router.get("/settings")
async def settings_page(ctx: Console = Depends(open_settings)):
    return await _settings_page(ctx)


@router.post("/settings/tokens")
async def create_token(name: str = Form(default=""), ctx: Console = Depends(manage_tokens)):
    """Create an API token acting as this agent; the raw token is shown once, in this response."""
    label = name.strip()[:200] or ctx.t("console.tokens.default_name")
    _token, raw = await service.create_api_token(
        ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, name=label
    )
    await ctx.session.flush()
    return await _settings_page(ctx, new_token=raw, status_code=201)


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(token_id: IdPath, ctx: Console = Depends(manage_tokens)):
    await service.revoke_api_token(ctx.session, workspace_id=ctx.workspace_id, token_id=token_id)
    return await _settings_page(ctx)


# Codes a team-management action can fail with, shown in the agent's language.
_TEAM_ERRORS = {
    "agent_exists": "console.team.error.agent_exists",
    "invalid_email": "console.team.error.invalid_email",
    "weak_password": "console.team.error.weak_password",
    "last_admin": "console.team.error.last_admin",
    "team_exists": "console.team.error.team_exists",
    "invalid_name": "console.team.error.invalid_name",
    "not_found": "console.team.error.not_found",
}


async def _team_action(ctx: Console, action, notice: str):
    """Run one agents/teams change; on a refused change, nothing is written and the
    section says why."""
    try:
        async with ctx.session.begin_nested():
            await action()
    except AppError as exc:
        key = _TEAM_ERRORS.get(exc.code)
        message = ctx.t(key) if key else exc.message
        return await _settings_page(ctx, team_error=message, status_code=exc.status_code)
    return await _settings_page(ctx, team_notice=ctx.t(notice))


@router.post("/settings/agents")
async def add_agent(
    name: str = Form(default=""),
    email: str = Form(default=""),
    password: str = Form(default=""),
    role: str = Form(default="agent"),
    ctx: Console = Depends(manage_agents),
):

    async def create():
        await service.create_agent(
            ctx.session,
            workspace_id=ctx.workspace_id,
            email=email,
            name=name,
            password=password,
            role=Role(role) if role in Role.__members__ else Role.agent,
            locale=ctx.locale,
        )

    return await _team_action(ctx, create, "console.team.agent_added")


@router.post("/settings/agents/{agent_id}")
async def change_agent(
    agent_id: IdPath,
    role: str | None = Form(default=None),
    active: str | None = Form(default=None),
    ctx: Console = Depends(manage_agents),
):

    async def change():
        await service.update_agent(
            ctx.session,
            workspace_id=ctx.workspace_id,
            agent_id=agent_id,
            role=Role(role) if role in Role.__members__ else None,
            is_active={"true": True, "false": False}.get(active or ""),
        )

    return await _team_action(ctx, change, "console.team.saved")


@router.post("/settings/teams")
async def add_team(name: str = Form(default=""), ctx: Console = Depends(manage_teams)):

    async def create():
        await service.create_team(ctx.session, workspace_id=ctx.workspace_id, name=name)

    return await _team_action(ctx, create, "console.team.team_added")


@router.post("/settings/teams/{team_id}")
async def change_team(team_id: IdPath, request: Request, ctx: Console = Depends(manage_teams)):
    """Save a team's members (the checked agents)."""
    form = await request.form()
    agent_ids = [int(v) for v in form.getlist("agent_ids") if str(v).isdigit()]

    async def change():
        await service.update_team(
            ctx.session, workspace_id=ctx.workspace_id, team_id=team_id, agent_ids=agent_ids
        )

    return await _team_action(ctx, change, "console.team.saved")


@router.post("/settings/teams/{team_id}/delete")
async def remove_team(team_id: IdPath, ctx: Console = Depends(manage_teams)):

    async def delete():
        await service.delete_team(ctx.session, workspace_id=ctx.workspace_id, team_id=team_id)

    return await _team_action(ctx, delete, "console.team.team_deleted")


@router.post("/settings/rate-limits")
async def save_rate_limits(request: Request, ctx: Console = Depends(manage_security)):
    """Save the workspace's rate limits; an empty row goes back to the server default."""
    form = await request.form()
    changes: dict[str, dict | None] = {}
    try:
        for rule in WORKSPACE_RULES:
            limit = str(form.get(f"{rule}.limit") or "").strip()
            period = str(form.get(f"{rule}.period_s") or "").strip()
            changes[rule] = {"limit": int(limit), "period_s": int(period)} if limit and period else None
        async with ctx.session.begin_nested():
            await service.set_rate_limits(ctx.session, workspace_id=ctx.workspace_id, changes=changes)
    except (ValueError, AppError):
        return await _settings_page(ctx, limits_error=ctx.t("console.limits.invalid"), status_code=422)
    return await _settings_page(ctx, limits_notice=ctx.t("console.limits.saved"))
