"""Console sessions: a signed cookie (agent id + session_version), CSRF double-submit,
and the `console` dependency every console route hangs off.

The cookie holds no secret state: it is valid while its signature and age are,
the agent is active and its session_version has not moved on (password change,
"log out everywhere").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import signins
from sodam.accounts.models import Agent
from sodam.accounts.permissions import SETTINGS_PERMISSIONS, Permission, allows
from sodam.accounts.service import unread_notices
from sodam.audit import context as audit_context
from sodam.config import get_settings
from sodam.core.deps import Principal, client_ip, get_session
from sodam.core.errors import AppError, Forbidden
from sodam.core.i18n import gettext, negotiate, normalise
from sodam.core.security import Signer, constant_time_equals
from sodam.core.templating import render
from sodam.db.session import session_scope

SESSION_COOKIE = "sodam_session"
CSRF_COOKIE = "sodam_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Strings console.js shows (handed over in a data attribute, in the agent's language).
JS_STRINGS = (
    "console.live.connecting",
    "console.live.connected",
    "console.live.reconnecting",
    "console.error.generic",
    "console.error.send_failed",
    "console.error.offline",
    "console.note",
    "console.time.now",
    "console.time.minutes",
    "console.time.hours",
    "console.time.days",
    "console.sla.ok",
    "console.sla.warn",
    "console.sla.breached",
)


class LoginRequired(AppError):
    """No valid console session: HTML requests are redirected to the login page, others get 401."""

    status_code = 401
    code = "login_required"


def _signer() -> Signer:
    return Signer(get_settings().resolved_secret_key(), salt="sodam.console-session")


def issue_session(agent: Agent, token: str) -> str:
    """The cookie value: who (agent, session_version) and which session row (its token)."""
    return _signer().dumps({"a": agent.id, "v": agent.session_version, "s": token})


def read_session(raw: str | None) -> tuple[int, int, str] | None:
    """(agent id, session_version, session token) from a cookie value, or None when unsigned,
    stale or malformed."""
    if not raw:
        return None
    payload = _signer().loads(raw, max_age=get_settings().session_max_age_s)
    if not isinstance(payload, dict):
        return None
    agent_id, version, token = payload.get("a"), payload.get("v"), payload.get("s")
    if not isinstance(agent_id, int) or not isinstance(version, int) or not isinstance(token, str):
        return None
    return agent_id, version, token


async def identity_from_cookie(session: AsyncSession, raw: str | None):
    """(agent, session row, workspace security settings) of a live console session, or None."""
    parsed = read_session(raw)
    if parsed is None:
        return None
    agent_id, version, token = parsed
    return await signins.resolve(session, agent_id=agent_id, version=version, token=token)


async def sign_in(
    session: AsyncSession, response, request: Request, agent: Agent, *, second_factor: bool
) -> None:
    """Start a console session for the agent and set its cookie on the response."""
    token = await signins.start(
        session,
        agent=agent,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        second_factor=second_factor,
    )
    set_session_cookie(response, agent, token)


async def sign_out(session: AsyncSession, request: Request, response) -> None:
    """End this browser's session (the row, not only the cookie) and clear the cookie."""
    parsed = read_session(request.cookies.get(SESSION_COOKIE))
    if parsed is not None:
        await signins.revoke_token(session, token=parsed[2])
    clear_session_cookie(response)


def principal_for(agent: Agent) -> Principal:
    return Principal(
        workspace_id=agent.workspace_id, agent_id=agent.id, role=agent.role.value, locale=agent.locale
    )


def _cookie_options() -> dict[str, Any]:
    settings = get_settings()
    return {"httponly": True, "samesite": "lax", "secure": settings.secure_cookies, "path": "/"}


def set_session_cookie(response, agent: Agent, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        issue_session(agent, token),
        max_age=get_settings().session_max_age_s,
        **_cookie_options(),
    )


def clear_session_cookie(response) -> None:
    response.delete_cookie(SESSION_COOKIE, **_cookie_options())


def csrf_token_for(request: Request) -> str:
    """The browser's CSRF token (from its cookie), or a fresh one to be set on the response."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    return secrets.token_urlsafe(32)


def set_csrf_cookie(response, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, max_age=get_settings().session_max_age_s, **_cookie_options())


async def check_csrf(request: Request, locale: str) -> None:
    """Double submit: the token in the header (htmx, fetch) or form field must equal the cookie's."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = request.headers.get(CSRF_HEADER) or ""
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not constant_time_equals(cookie, sent):
        raise Forbidden(gettext(locale, "console.error.csrf"), code="csrf_failed")


def wants_html(request: Request) -> bool:
    """A top-level browser navigation (not htmx, not fetch/JSON)."""
    if request.headers.get("hx-request"):
        return False
    accept = request.headers.get("accept", "")
    return request.method in SAFE_METHODS and ("text/html" in accept or not accept or "*/*" in accept)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/console/login?next=" + quote(target, safe="")


def safe_next(target: str | None) -> str:
    """Only local console paths: never an open redirect."""
    if not target:
        return "/console"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/console") or target.startswith("//"):
        return "/console"
    return target


def request_locale(request: Request) -> str:
    """Language for pages shown before login: ?lang=, then Accept-Language."""
    lang = request.query_params.get("lang")
    return normalise(lang) if lang else negotiate(request.headers.get("accept-language"))


@dataclass
class Console:
    """The signed-in agent and the tools a console view needs."""

    request: Request
    session: AsyncSession
    agent: Agent
    csrf_token: str
    session_id: int | None = None
    security: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    notices: list[Any] = field(default_factory=list)  # unread AgentNotice rows (full pages only)

    @property
    def workspace_id(self) -> int:
        return self.agent.workspace_id

    @property
    def locale(self) -> str:
        return normalise(self.agent.locale)

    @property
    def is_htmx(self) -> bool:
        return bool(self.request.headers.get("hx-request"))

    def t(self, key: str, **params: object) -> str:
        return gettext(self.locale, key, **params)

    def can(self, permission: Permission | str) -> bool:
        """Whether the signed-in agent's role holds this permission (templates show or hide by it:
        `can("teams.manage")`)."""
        return allows(self.agent.role, Permission(permission))

    def render(self, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200):
        response = render(
            self.request,
            name,
            {
                "agent": self.agent,
                "csrf_token": self.csrf_token,
                "can": self.can,
                "can_open_settings": any(self.can(p) for p in SETTINGS_PERMISSIONS),
                "js_strings": {key: self.t(key) for key in JS_STRINGS},
                "notices": self.notices,
                **(context or {}),
            },
            locale=self.locale,
            status_code=status_code,
        )
        set_csrf_cookie(response, self.csrf_token)
        return response


async def console(
    request: Request, session: AsyncSession = Depends(get_session, scope="function")
) -> Console:
    """The signed-in agent (401/redirect otherwise); unsafe methods must carry the CSRF token.

    Where the workspace requires two-factor sign-in, an agent without it may only reach
    the pages that set it up (and sign out) until they have it."""
    found = await identity_from_cookie(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise LoginRequired(gettext(request_locale(request), "console.error.login_required"))
    agent, live, security = found
    if request.method not in SAFE_METHODS:
        await check_csrf(request, normalise(agent.locale))
    if security.get("require_2fa") and not agent.has_two_factor and request.url.path not in ENROLMENT_PATHS:
        raise TwoFactorRequired(gettext(normalise(agent.locale), "console.account.two_factor_required"))
    audit_context.set_actor(workspace_id=agent.workspace_id, actor_type="agent", agent_id=agent.id)
    ctx = Console(
        request=request,
        session=session,
        agent=agent,
        csrf_token=csrf_token_for(request),
        session_id=live.id,
        security=security,
    )
    if wants_html(request):  # full pages show the agent's unread notices (e.g. "account locked")
        ctx.notices = await unread_notices(session, workspace_id=agent.workspace_id, agent_id=agent.id)
    return ctx


# Reachable while a required second factor is not set up yet.
ENROLMENT_PATHS = frozenset(
    {
        "/console/account",
        "/console/account/two-factor/start",
        "/console/account/two-factor/confirm",
        "/console/logout",
        "/console/preferences/locale",
    }
)


class TwoFactorRequired(AppError):
    """The workspace requires two-factor sign-in and this agent has not set it up."""

    status_code = 403
    code = "two_factor_enrolment_required"


console.permission = Permission.work  # any signed-in agent


def console_access(*permissions: Permission):
    """The dependency of a console route that needs this permission (or any one of several,
    e.g. the settings page): the Console, or 403 permission_required."""
    if not permissions:
        raise ValueError("console_access needs a permission")

    async def dependency(ctx: Console = Depends(console)) -> Console:
        if not any(ctx.can(p) for p in permissions):
            wanted = [p.value for p in permissions]
            raise Forbidden(
                ctx.t("console.error.permission_required"),
                code="permission_required",
                details={
                    "permission": wanted[0] if len(wanted) == 1 else wanted,
                    "role": ctx.agent.role.value,
                },
            )
        return ctx

    # Read by the tests that check every route; a frozenset means "any one of these".
    dependency.permission = permissions[0] if len(permissions) == 1 else frozenset(permissions)
    return dependency


def _same_origin(websocket: WebSocket) -> bool:
    """Browsers send Origin on socket handshakes; a cookie-authenticated socket must come from us."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient-cookie attack to defend against
    host = websocket.headers.get("host", "")
    netloc = urlsplit(origin).netloc.lower()
    return netloc == host.lower() or origin.rstrip("/") == get_settings().base_url()


async def socket_principal(websocket: WebSocket) -> Principal | None:
    """Authenticate the agents' live socket by the console session cookie (see conversations/live.py)."""
    raw = websocket.cookies.get(SESSION_COOKIE)
    if not raw or not _same_origin(websocket):
        return None
    async with session_scope() as session:
        found = await identity_from_cookie(session, raw)
    if found is None:
        return None
    agent, _live, security = found
    if security.get("require_2fa") and not agent.has_two_factor:
        return None  # nothing of the workspace before the required second factor is set up
    return principal_for(agent)
