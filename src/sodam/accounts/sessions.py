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

from sodam.accounts.models import Agent, Role
from sodam.accounts.permissions import Permission, allows
from sodam.accounts.service import unread_notices
from sodam.audit import context as audit_context
from sodam.config import get_settings
from sodam.core.deps import Principal, get_session
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


def issue_session(agent: Agent) -> str:
    return _signer().dumps({"a": agent.id, "v": agent.session_version})


def read_session(raw: str | None) -> tuple[int, int] | None:
    """(agent id, session_version) from a cookie value, or None when unsigned, stale or malformed."""
    if not raw:
        return None
    payload = _signer().loads(raw, max_age=get_settings().session_max_age_s)
    if not isinstance(payload, dict):
        return None
    agent_id, version = payload.get("a"), payload.get("v")
    if not isinstance(agent_id, int) or not isinstance(version, int):
        return None
    return agent_id, version


async def agent_from_cookie(session: AsyncSession, raw: str | None) -> Agent | None:
    """The active agent a session cookie stands for, or None."""
    parsed = read_session(raw)
    if parsed is None:
        return None
    agent = await session.get(Agent, parsed[0])
    if agent is None or not agent.is_active or agent.session_version != parsed[1]:
        return None
    return agent


def principal_for(agent: Agent) -> Principal:
    return Principal(
        workspace_id=agent.workspace_id, agent_id=agent.id, role=agent.role.value, locale=agent.locale
    )


def _cookie_options() -> dict[str, Any]:
    settings = get_settings()
    return {"httponly": True, "samesite": "lax", "secure": settings.secure_cookies, "path": "/"}


def set_session_cookie(response, agent: Agent) -> None:
    response.set_cookie(
        SESSION_COOKIE, issue_session(agent), max_age=get_settings().session_max_age_s, **_cookie_options()
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
    extra: dict[str, Any] = field(default_factory=dict)
    notices: list[Any] = field(default_factory=list)  # unread AgentNotice rows (full pages only)

    @property
    def workspace_id(self) -> int:
        return self.agent.workspace_id

    @property
    def locale(self) -> str:
        return normalise(self.agent.locale)

    @property
    def is_admin(self) -> bool:
        return self.agent.role == Role.admin

    @property
    def is_htmx(self) -> bool:
        return bool(self.request.headers.get("hx-request"))

    def t(self, key: str, **params: object) -> str:
        return gettext(self.locale, key, **params)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden(self.t("console.error.admin_only"), code="admin_only")

    def can(self, permission: Permission) -> bool:
        """Whether the signed-in agent's role holds this permission (templates show or hide by it)."""
        return allows(self.agent.role, permission)

    def render(self, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200):
        response = render(
            self.request,
            name,
            {
                "agent": self.agent,
                "csrf_token": self.csrf_token,
                "is_admin": self.is_admin,
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
    """The signed-in agent (401/redirect otherwise); unsafe methods must carry the CSRF token."""
    agent = await agent_from_cookie(session, request.cookies.get(SESSION_COOKIE))
    if agent is None:
        raise LoginRequired(gettext(request_locale(request), "console.error.login_required"))
    if request.method not in SAFE_METHODS:
        await check_csrf(request, normalise(agent.locale))
    audit_context.set_actor(workspace_id=agent.workspace_id, actor_type="agent", agent_id=agent.id)
    ctx = Console(request=request, session=session, agent=agent, csrf_token=csrf_token_for(request))
    if wants_html(request):  # full pages show the agent's unread notices (e.g. "account locked")
        ctx.notices = await unread_notices(session, workspace_id=agent.workspace_id, agent_id=agent.id)
    return ctx


console.permission = Permission.work  # any signed-in agent


def console_access(permission: Permission):
    """The dependency of a console route that needs this permission: the Console, or 403."""

    async def dependency(ctx: Console = Depends(console)) -> Console:
        if not ctx.can(permission):
            raise Forbidden(
                ctx.t("console.error.permission_required"),
                code="permission_required",
                details={"permission": permission.value, "role": ctx.agent.role.value},
            )
        return ctx

    dependency.permission = permission  # read by the tests that check every route
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
        agent = await agent_from_cookie(session, raw)
        return principal_for(agent) if agent is not None else None
