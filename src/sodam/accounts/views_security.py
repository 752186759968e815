"""Console: the second sign-in step, the agent's own account (password, two-factor sign-in,
where they are signed in) and the workspace's sign-in rules."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import policy, service, signins, throttle, totp, twofactor
from sodam.accounts.models import Agent
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import (
    SESSION_COOKIE,
    Console,
    TwoFactorRequired,
    check_csrf,
    console,
    console_access,
    csrf_token_for,
    read_session,
    request_locale,
    safe_next,
    set_csrf_cookie,
    set_session_cookie,
    sign_in,
    wants_html,
)
from sodam.config import get_settings
from sodam.core.deps import client_ip, get_session
from sodam.core.errors import AppError
from sodam.core.i18n import gettext, normalise
from sodam.core.params import IdPath
from sodam.core.ratelimit import settings_of
from sodam.core.security import Signer
from sodam.core.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)

PENDING_COOKIE = "sodam_2fa"
PENDING_MAX_AGE_S = 300  # the code must follow the password within five minutes


def install(app: FastAPI) -> None:
    app.add_exception_handler(TwoFactorRequired, _two_factor_required)
    app.include_router(router)


async def _two_factor_required(request: Request, exc: TwoFactorRequired) -> Response:
    if wants_html(request):
        return RedirectResponse("/console/account?required=1", status_code=303)
    return JSONResponse(exc.body(), status_code=403, headers={"HX-Redirect": "/console/account?required=1"})


# ---- the second step of signing in ------------------------------------------------------


def _pending_signer() -> Signer:
    return Signer(get_settings().resolved_secret_key(), salt="sodam.console-2fa")


def second_factor_challenge(agent: Agent, next_path: str) -> Response:
    """After a right password for an agent with two-factor sign-in: ask for the code."""
    response = RedirectResponse("/console/login/verify", status_code=303)
    token = _pending_signer().dumps({"a": agent.id, "v": agent.session_version, "n": next_path})
    response.set_cookie(
        PENDING_COOKIE,
        token,
        max_age=PENDING_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        path="/console/login",
    )
    return response


async def _pending_agent(session: AsyncSession, request: Request) -> tuple[Agent, str] | None:
    raw = request.cookies.get(PENDING_COOKIE)
    payload = _pending_signer().loads(raw, max_age=PENDING_MAX_AGE_S) if raw else None
    if not isinstance(payload, dict) or not isinstance(payload.get("a"), int):
        return None
    agent = await session.get(Agent, payload["a"])
    if agent is None or not agent.is_active or agent.session_version != payload.get("v"):
        return None
    return agent, safe_next(payload.get("n"))


def _verify_page(
    request: Request, locale: str, *, error: str | None = None, status_code: int = 200, retry_after=None
):
    token = csrf_token_for(request)
    response = render(
        request,
        "console/login_verify.html",
        {"csrf_token": token, "error": error},
        locale=locale,
        status_code=status_code,
        headers={"Retry-After": str(retry_after)} if retry_after else None,
    )
    set_csrf_cookie(response, token)
    return response


@router.get("/login/verify")
async def verify_form(request: Request, session: AsyncSession = Depends(get_session, scope="function")):
    pending = await _pending_agent(session, request)
    if pending is None:
        return RedirectResponse("/console/login", status_code=303)
    # The password told us who this is: their own language from here on.
    return _verify_page(request, normalise(pending[0].locale))


@router.post("/login/verify")
async def verify(
    request: Request,
    code: str = Form(default=""),
    session: AsyncSession = Depends(get_session, scope="function"),
):
    """The code from the app (or a recovery code); counted with the password attempts."""
    await check_csrf(request, request_locale(request))
    pending = await _pending_agent(session, request)
    if pending is None:
        return RedirectResponse("/console/login", status_code=303)
    agent, next_path = pending
    locale = normalise(agent.locale)
    settings, ip = settings_of(request), client_ip(request)
    attempt = await throttle.begin_attempt(
        settings=settings, email=agent.email, ip=ip, now=throttle.now_of(request)
    )
    if not attempt.allowed:
        key = "console.login.locked" if attempt.locked else "console.login.throttled"
        error = gettext(locale, key, minutes=max(1, attempt.retry_after // 60), seconds=attempt.retry_after)
        return _verify_page(request, locale, error=error, status_code=429, retry_after=attempt.retry_after)
    used = await twofactor.verify(session, agent=agent, code=code[:64])
    if used is None:
        return _verify_page(
            request, locale, error=gettext(locale, "console.account.code_wrong"), status_code=400
        )
    await throttle.attempt_succeeded(settings=settings, email=agent.email, ip=ip)
    response = RedirectResponse(next_path, status_code=303)
    response.delete_cookie(PENDING_COOKIE, path="/console/login")
    await sign_in(session, response, request, agent, second_factor=True)
    if used == "recovery":
        await service.add_notice(
            session,
            workspace_id=agent.workspace_id,
            agent_id=agent.id,
            kind="recovery_code_used",
            details={"ip": ip, "left": await twofactor.remaining_recovery_codes(session, agent=agent)},
        )
    return response


# ---- the agent's own account ----------------------------------------------------------


def _device(user_agent: str | None) -> str:
    """A short name for a browser from its User-Agent ("Chrome · Windows")."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("Whale/", "Whale"),
                ("SamsungBrowser", "Samsung Internet"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iOS"),
                ("iPad", "iPadOS"),
                ("Windows", "Windows"),
                ("Mac OS", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    return " · ".join(p for p in (browser, system) if p) or (ua[:60] or "?")


async def _account_page(
    ctx: Console,
    *,
    secret: str | None = None,
    recovery_codes: list[str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
):
    agent = ctx.agent
    sessions = await signins.list_active(ctx.session, workspace_id=ctx.workspace_id, agent_id=agent.id)
    enrol_uri = totp.provisioning_uri(secret, account=agent.email) if secret else None
    return ctx.render(
        "console/account.html",
        {
            "section": "account",
            "two_factor_on": agent.has_two_factor,
            "two_factor_required": bool(ctx.security.get("require_2fa")),
            "required_notice": ctx.request.query_params.get("required") == "1" and not agent.has_two_factor,
            "secret": secret,
            "qr_svg": totp.qr_svg(enrol_uri) if enrol_uri else None,
            "recovery_codes": recovery_codes,
            "recovery_left": await twofactor.remaining_recovery_codes(ctx.session, agent=agent)
            if agent.has_two_factor
            else 0,
            "sessions": [
                {"row": s, "device": _device(s.user_agent), "current": s.id == ctx.session_id}
                for s in sessions
            ],
            "min_length": policy.policy_of(ctx.security).password_min_length,
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


def _refusal(ctx: Console, prefix: str, exc: AppError) -> str:
    """The page's own words for a refused change (`<prefix>.<code>`), else the error's message."""
    key = f"{prefix}.{exc.code}"
    translated = ctx.t(key)
    return exc.message if translated == key else translated


async def _account_action(ctx: Console, action, notice_key: str | None = None):
    """Run one change; a refused one writes nothing and the page says why, in place."""
    try:
        async with ctx.session.begin_nested():
            result = await action()
    except AppError as exc:
        message = _refusal(ctx, "console.account.error", exc)
        return await _account_page(ctx, error=message, status_code=exc.status_code)
    if isinstance(result, Response):
        return result
    return await _account_page(ctx, notice=ctx.t(notice_key) if notice_key else None, **(result or {}))


@router.get("/account")
async def account_page(ctx: Console = Depends(console)):
    return await _account_page(ctx)


@router.post("/account/two-factor/start")
async def two_factor_start(ctx: Console = Depends(console)):
    async def start():
        return {"secret": await twofactor.begin_enrolment(ctx.session, agent=ctx.agent)}

    return await _account_action(ctx, start)


@router.post("/account/two-factor/confirm")
async def two_factor_confirm(code: str = Form(default=""), ctx: Console = Depends(console)):
    """The first code turns it on; the recovery codes are shown this once. Other sessions,
    signed in with the password alone, end."""

    async def confirm():
        codes = await twofactor.confirm_enrolment(ctx.session, agent=ctx.agent, code=code[:64])
        await signins.revoke_all(
            ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, keep_id=ctx.session_id
        )
        return {"recovery_codes": codes}

    return await _account_action(ctx, confirm, "console.account.two_factor_on")


@router.post("/account/two-factor/recovery-codes")
async def two_factor_new_codes(code: str = Form(default=""), ctx: Console = Depends(console)):
    async def regenerate():
        return {
            "recovery_codes": await twofactor.regenerate_recovery_codes(
                ctx.session, agent=ctx.agent, code=code
            )
        }

    return await _account_action(ctx, regenerate, "console.account.codes_renewed")


@router.post("/account/two-factor/disable")
async def two_factor_disable(code: str = Form(default=""), ctx: Console = Depends(console)):
    async def disable():
        await twofactor.disable(
            ctx.session, agent=ctx.agent, code=code, required=bool(ctx.security.get("require_2fa"))
        )

    return await _account_action(ctx, disable, "console.account.two_factor_off")


@router.post("/account/password")
async def change_password(
    current: str = Form(default=""),
    new: str = Form(default=""),
    ctx: Console = Depends(console),
):
    """A new password (the current one first); every other session ends, this one stays."""

    async def change():
        if await service.authenticate(ctx.session, email=ctx.agent.email, password=current) is None:
            raise AppError("the current password is not right", code="wrong_password", status_code=400)
        agent = await service.update_agent(
            ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, password=new
        )
        await signins.revoke_all(
            ctx.session, workspace_id=ctx.workspace_id, agent_id=agent.id, keep_id=ctx.session_id
        )
        response = await _account_page(ctx, notice=ctx.t("console.account.password_changed"))
        parsed = read_session(ctx.request.cookies.get(SESSION_COOKIE))
        if parsed is not None:  # the new session_version, same session row
            set_session_cookie(response, agent, parsed[2])
        return response

    return await _account_action(ctx, change)


@router.post("/account/sessions/{session_id}/revoke")
async def revoke_session(session_id: IdPath, ctx: Console = Depends(console)):
    async def revoke():
        await signins.revoke(
            ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, session_id=session_id
        )

    return await _account_action(ctx, revoke, "console.account.session_ended")


@router.post("/account/sessions/revoke-others")
async def revoke_other_sessions(ctx: Console = Depends(console)):
    async def revoke():
        await signins.revoke_all(
            ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id, keep_id=ctx.session_id
        )

    return await _account_action(ctx, revoke, "console.account.others_ended")


# ---- the workspace's sign-in rules ------------------------------------------------------

SecurityAdmin = Depends(console_access(Permission.security_manage))


async def _security_page(
    ctx: Console, *, error: str | None = None, notice: str | None = None, status_code=200
):
    current = await policy.get(ctx.session, workspace_id=ctx.workspace_id)
    agents = await service.list_agents(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "console/settings_security.html",
        {
            "section": "settings",
            "policy": current,
            "without_two_factor": [a for a in agents if a.is_active and not a.has_two_factor],
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/settings/security")
async def security_settings(ctx: Console = SecurityAdmin):
    return await _security_page(ctx)


@router.post("/settings/security")
async def save_security_settings(
    require_2fa: str | None = Form(default=None),
    password_min_length: int = Form(default=10, ge=1, le=1000),
    allowed_email_domains: str = Form(default=""),
    ctx: Console = SecurityAdmin,
):
    try:
        async with ctx.session.begin_nested():
            await policy.update(
                ctx.session,
                workspace_id=ctx.workspace_id,
                require_2fa=require_2fa not in (None, "", "0", "false", "off"),
                password_min_length=password_min_length,
                allowed_email_domains=allowed_email_domains.replace(",", "\n").splitlines(),
            )
    except AppError as exc:
        message = _refusal(ctx, "console.security.error", exc)
        return await _security_page(ctx, error=message, status_code=exc.status_code)
    ctx.security = (await policy.get(ctx.session, workspace_id=ctx.workspace_id)).as_dict()
    return await _security_page(ctx, notice=ctx.t("console.security.saved"))
