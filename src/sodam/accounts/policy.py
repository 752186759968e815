"""A workspace's sign-in rules: two-factor required or not, the password policy, the
e-mail domains agents may have. Kept in workspaces.security (JSON)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import passwords
from sodam.accounts.models import Workspace
from sodam.core.errors import Invalid, NotFound

MIN_PASSWORD_LENGTH_RANGE = (8, 64)
MAX_DOMAINS = 50
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class SecurityPolicy:
    require_2fa: bool = False
    password_min_length: int = passwords.DEFAULT_MIN_LENGTH
    allowed_email_domains: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {**asdict(self), "allowed_email_domains": list(self.allowed_email_domains)}


def policy_of(raw: dict | None) -> SecurityPolicy:
    """The policy stored on a workspace (defaults for anything unset)."""
    raw = raw or {}
    return SecurityPolicy(
        require_2fa=bool(raw.get("require_2fa", False)),
        password_min_length=int(raw.get("password_min_length") or passwords.DEFAULT_MIN_LENGTH),
        allowed_email_domains=tuple(raw.get("allowed_email_domains") or ()),
    )


async def get(session: AsyncSession, *, workspace_id: int) -> SecurityPolicy:
    """The workspace's sign-in rules."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    return policy_of(workspace.security)


def normalise_domains(domains: list[str]) -> tuple[str, ...]:
    """Lower-cased, de-duplicated, validated domains (422 invalid_domain naming the bad one)."""
    out: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().lstrip("@")
        if not domain:
            continue
        if not _DOMAIN_RE.match(domain):
            raise Invalid(f"not a domain name: {raw!r}", code="invalid_domain", details={"domain": raw})
        if domain not in out:
            out.append(domain)
    if len(out) > MAX_DOMAINS:
        raise Invalid(f"at most {MAX_DOMAINS} domains", code="too_many_domains")
    return tuple(out)


async def update(
    session: AsyncSession,
    *,
    workspace_id: int,
    require_2fa: bool | None = None,
    password_min_length: int | None = None,
    allowed_email_domains: list[str] | None = None,
) -> SecurityPolicy:
    """Change some of the workspace's sign-in rules."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    current = policy_of(workspace.security).as_dict()
    if require_2fa is not None:
        current["require_2fa"] = require_2fa
    if password_min_length is not None:
        low, high = MIN_PASSWORD_LENGTH_RANGE
        if not low <= password_min_length <= high:
            raise Invalid(
                f"the minimum password length must be between {low} and {high}",
                code="invalid_password_min_length",
                details={"min": low, "max": high},
            )
        current["password_min_length"] = password_min_length
    if allowed_email_domains is not None:
        current["allowed_email_domains"] = list(normalise_domains(allowed_email_domains))
    workspace.security = current
    await session.flush()
    return policy_of(current)


def check_email_domain(policy: SecurityPolicy, email: str) -> None:
    """422 email_domain_not_allowed when the workspace limits domains and this is not one."""
    if not policy.allowed_email_domains:
        return
    domain = email.rsplit("@", 1)[-1].lower()
    if domain not in policy.allowed_email_domains:
        raise Invalid(
            "agents of this workspace must have an e-mail address at "
            + ", ".join(policy.allowed_email_domains),
            code="email_domain_not_allowed",
            details={"allowed": list(policy.allowed_email_domains)},
        )


def check_password(policy: SecurityPolicy, password: str, *, email: str = "", name: str = "") -> None:
    """422 weak_password (with a reason) unless the password meets the workspace's policy."""
    passwords.check(password, email=email, name=name, min_length=policy.password_min_length)
