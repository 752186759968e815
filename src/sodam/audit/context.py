"""Who is acting in this request or job, for the audit log.

The web layer opens a scope per request (client IP and user agent); the principal
dependencies (API token, console session) then say who the actor is. Services
never pass the actor around: the audit hook and `audit.service.record` read it
from here, so every change made on behalf of an agent or a token is attributed
without touching the services' signatures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Actor:
    workspace_id: int
    actor_type: str  # agent | token | system
    agent_id: int | None = None
    token_id: int | None = None


@dataclass
class AuditScope:
    ip: str | None = None
    user_agent: str | None = None
    actor: Actor | None = None


_scope: ContextVar[AuditScope | None] = ContextVar("sodam_audit_scope", default=None)


@contextmanager
def scope(
    *, ip: str | None = None, user_agent: str | None = None, actor: Actor | None = None
) -> Iterator[AuditScope]:
    """A fresh scope for one request or job; the previous one comes back afterwards."""
    current = AuditScope(
        ip=(ip or None) and ip[:64], user_agent=(user_agent or None) and user_agent[:300], actor=actor
    )
    token = _scope.set(current)
    try:
        yield current
    finally:
        _scope.reset(token)


def current() -> AuditScope | None:
    return _scope.get()


def set_actor(
    *, workspace_id: int, actor_type: str, agent_id: int | None = None, token_id: int | None = None
) -> None:
    """Name the actor of the current scope (a no-op outside one, e.g. in a script)."""
    current_scope = _scope.get()
    if current_scope is not None:
        current_scope.actor = Actor(workspace_id, actor_type, agent_id, token_id)


def actor() -> Actor | None:
    current_scope = _scope.get()
    return current_scope.actor if current_scope is not None else None
