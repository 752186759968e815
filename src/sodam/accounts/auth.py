"""Resolving who is calling: API bearer tokens (console sessions live in accounts/views.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service
from sodam.accounts.permissions import Permission, allows
from sodam.audit import context as audit_context
from sodam.core.deps import Principal, get_session
from sodam.core.errors import Forbidden, Unauthorized
from sodam.core.ratelimit import enforce


def bearer_from_header(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def principal_from_token(session: AsyncSession, raw: str | None) -> Principal:
    """The principal an API token stands for; 401 when missing, unknown or revoked."""
    if not raw:
        raise Unauthorized("an API token is required (Authorization: Bearer <token>)", code="missing_token")
    found = await service.authenticate_token(session, raw=raw)
    if found is None:
        raise Unauthorized("unknown or revoked API token", code="invalid_token")
    token, agent = found
    return Principal(
        workspace_id=agent.workspace_id,
        agent_id=agent.id,
        role=agent.role.value,
        locale=agent.locale,
        token_id=token.id,
        scopes=tuple(token.scopes or ()),
    )


# Function scope: the transaction commits when the handler returns, *before* the
# response is sent, so a 2xx always means "committed" (FastAPI's default "request"
# scope would run the commit after the client already has its answer).
ApiSession = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token: `sodam token create --email you@example.com` or the console.",
)

SCOPES = ("read", "write")


def require_principal(scope: str = "read", permission: Permission = Permission.work):
    """A dependency: the caller's Principal from `Authorization: Bearer`, holding `scope`.

    401 when the token is missing, unknown or revoked; 429 when it is used faster than
    its workspace's `api_token` limit; 403 insufficient_scope when it lacks the scope;
    403 permission_required when the token's agent's role lacks the permission
    (accounts/permissions.py). `write` implies `read`.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(
        request: Request,
        session: ApiSession,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        principal = await principal_from_token(session, credentials.credentials if credentials else None)
        audit_context.set_actor(
            workspace_id=principal.workspace_id,
            actor_type="token",
            agent_id=principal.agent_id,
            token_id=principal.token_id,
        )
        # Per token, in the token's workspace (429 + Retry-After; X-RateLimit-* on every answer).
        await enforce(request, ("api_token", str(principal.token_id)), workspace_id=principal.workspace_id)
        granted = set(principal.scopes)
        if "write" in granted:
            granted.add("read")
        if scope not in granted:
            raise Forbidden(
                f"this token lacks the '{scope}' scope",
                code="insufficient_scope",
                details={"required": scope, "granted": sorted(principal.scopes)},
            )
        if not allows(principal.role, permission):
            raise permission_denied(permission, principal.role)
        return principal

    dependency.permission = permission  # read by the tests that check every route
    dependency.scope = scope
    return dependency


def api_access(permission: Permission, scope: str = "read"):
    """The dependency of an API route that needs this permission (and token scope)."""
    return require_principal(scope, permission)


def permission_denied(permission: Permission, role: str) -> Forbidden:
    return Forbidden(
        f"your role ({role}) does not allow this ({permission.value})",
        code="permission_required",
        details={"permission": permission.value, "role": role},
    )


# Every signed-in agent (Permission.work); routes needing more declare it with api_access.
ReadPrincipal = Annotated[Principal, Depends(require_principal("read"))]
WritePrincipal = Annotated[Principal, Depends(require_principal("write"))]
