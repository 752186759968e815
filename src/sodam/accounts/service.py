"""Workspaces, agents, teams and API tokens. Services never commit: callers own the transaction."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import policy
from sodam.accounts.models import Agent, AgentNotice, ApiToken, Role, Team, TeamMember, Workspace
from sodam.config import Settings
from sodam.core.errors import Conflict, Invalid, NotFound
from sodam.core.ratelimit import MAX_LIMIT, MAX_PERIOD_S, WORKSPACE_RULES, default_rate
from sodam.core.security import hash_password, hash_token, new_api_token, verify_password

TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def create_workspace(
    session: AsyncSession, *, name: str, slug: str, default_locale: str = "ko"
) -> Workspace:
    """Create a workspace."""
    if await session.scalar(select(Workspace).where(Workspace.slug == slug)):
        raise Conflict(f"workspace '{slug}' already exists", code="workspace_exists")
    workspace = Workspace(name=name, slug=slug, default_locale=default_locale)
    session.add(workspace)
    await session.flush()
    return workspace


async def get_workspace(session: AsyncSession, *, workspace_id: int) -> Workspace:
    """Get a workspace by id."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    return workspace


async def get_workspace_by_slug(session: AsyncSession, *, slug: str) -> Workspace | None:
    """Get a workspace by slug, or None."""
    return await session.scalar(select(Workspace).where(Workspace.slug == slug))


async def create_agent(
    session: AsyncSession,
    *,
    workspace_id: int,
    email: str,
    name: str,
    password: str,
    role: Role = Role.agent,
    locale: str = "ko",
) -> Agent:
    """Create an agent with an argon2-hashed password."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise Invalid("a valid e-mail address is required", code="invalid_email")
    rules = await policy.get(session, workspace_id=workspace_id)
    policy.check_email_domain(rules, email)
    policy.check_password(rules, password, email=email, name=name)
    if await session.scalar(select(Agent.id).where(Agent.email == email)):
        raise Conflict(f"an agent with e-mail {email} already exists", code="agent_exists")
    agent = Agent(
        workspace_id=workspace_id,
        email=email,
        name=name.strip() or email,
        password_hash=await asyncio.to_thread(hash_password, password),
        role=role,
        locale=locale,
    )
    session.add(agent)
    await session.flush()
    return agent


async def get_agent(session: AsyncSession, *, workspace_id: int, agent_id: int) -> Agent:
    """Get an agent of this workspace."""
    agent = await session.scalar(
        select(Agent).where(Agent.workspace_id == workspace_id, Agent.id == agent_id)
    )
    if agent is None:
        raise NotFound("agent not found")
    return agent


async def get_agent_by_email(session: AsyncSession, *, email: str) -> Agent | None:
    """Get an agent by e-mail, or None."""
    return await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))


async def list_agents(session: AsyncSession, *, workspace_id: int) -> list[Agent]:
    """All agents of a workspace, by name."""
    result = await session.scalars(
        select(Agent).where(Agent.workspace_id == workspace_id).order_by(Agent.name, Agent.id)
    )
    return list(result)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> Agent | None:
    """The active agent with this e-mail and password, or None (argon2 runs off the event loop)."""
    agent = await get_agent_by_email(session, email=email)
    ok = await asyncio.to_thread(verify_password, agent.password_hash if agent else None, password)
    if not ok or agent is None or not agent.is_active:
        return None
    return agent


async def create_team(
    session: AsyncSession, *, workspace_id: int, name: str, agent_ids: list[int] = ()
) -> Team:
    """Create a team, optionally with members."""
    name = name.strip()
    if not name:
        raise Invalid("a team needs a name", code="invalid_name")
    if await session.scalar(select(Team.id).where(Team.workspace_id == workspace_id, Team.name == name)):
        raise Conflict(f"team '{name}' already exists", code="team_exists")
    team = Team(workspace_id=workspace_id, name=name)
    session.add(team)
    await session.flush()
    for agent_id in agent_ids:
        await get_agent(session, workspace_id=workspace_id, agent_id=agent_id)
        session.add(TeamMember(workspace_id=workspace_id, team_id=team.id, agent_id=agent_id))
    await session.flush()
    return team


async def get_team(session: AsyncSession, *, workspace_id: int, team_id: int) -> Team:
    """Get a team of this workspace."""
    team = await session.scalar(select(Team).where(Team.workspace_id == workspace_id, Team.id == team_id))
    if team is None:
        raise NotFound("team not found")
    return team


async def list_teams(session: AsyncSession, *, workspace_id: int) -> list[Team]:
    """All teams of a workspace."""
    result = await session.scalars(select(Team).where(Team.workspace_id == workspace_id).order_by(Team.name))
    return list(result)


async def team_member_ids(session: AsyncSession, *, workspace_id: int, team_id: int) -> list[int]:
    """Agent ids in a team."""
    result = await session.scalars(
        select(TeamMember.agent_id).where(
            TeamMember.workspace_id == workspace_id, TeamMember.team_id == team_id
        )
    )
    return list(result)


async def create_api_token(
    session: AsyncSession, *, workspace_id: int, agent_id: int, name: str, scopes: list[str] | None = None
) -> tuple[ApiToken, str]:
    """Create a scoped API token; the raw token is returned once and only its hash is kept."""
    await get_agent(session, workspace_id=workspace_id, agent_id=agent_id)
    raw, prefix, digest = new_api_token()
    token = ApiToken(
        workspace_id=workspace_id,
        agent_id=agent_id,
        name=name,
        prefix=prefix,
        token_hash=digest,
        scopes=scopes or ["read", "write"],
    )
    session.add(token)
    await session.flush()
    return token, raw


async def list_api_tokens(session: AsyncSession, *, workspace_id: int) -> list[ApiToken]:
    """Tokens of a workspace (never their secrets)."""
    result = await session.scalars(
        select(ApiToken).where(ApiToken.workspace_id == workspace_id).order_by(ApiToken.id.desc())
    )
    return list(result)


async def revoke_api_token(session: AsyncSession, *, workspace_id: int, token_id: int) -> None:
    """Revoke a token of this workspace."""
    token = await session.scalar(
        select(ApiToken).where(ApiToken.workspace_id == workspace_id, ApiToken.id == token_id)
    )
    if token is None:
        raise NotFound("token not found")
    token.revoked_at = datetime.now(UTC)


async def authenticate_token(session: AsyncSession, *, raw: str) -> tuple[ApiToken, Agent] | None:
    """The live token and its agent for a raw bearer token, or None."""
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        return None
    agent = await session.get(Agent, token.agent_id)
    if agent is None or not agent.is_active:
        return None
    # Written at most once a minute: every write holds the token's row lock until commit,
    # which would serialise concurrent requests made with the same token.
    now = datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        token.last_used_at = now
    return token, agent


async def list_agents_page(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 25
) -> list[Agent]:
    """Agents of a workspace by id, after a keyset position (for API pagination)."""
    stmt = select(Agent).where(Agent.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(Agent.id > after_id)
    return list(await session.scalars(stmt.order_by(Agent.id).limit(limit)))


async def list_teams_page(
    session: AsyncSession, *, workspace_id: int, after_id: int | None = None, limit: int = 25
) -> list[Team]:
    """Teams of a workspace by id, after a keyset position (for API pagination)."""
    stmt = select(Team).where(Team.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(Team.id > after_id)
    return list(await session.scalars(stmt.order_by(Team.id).limit(limit)))


async def member_ids_by_team(
    session: AsyncSession, *, workspace_id: int, team_ids: list[int]
) -> dict[int, list[int]]:
    """Agent ids of several teams in one query: {team_id: [agent_id, ...]}."""
    out: dict[int, list[int]] = {team_id: [] for team_id in team_ids}
    if not team_ids:
        return out
    rows = await session.execute(
        select(TeamMember.team_id, TeamMember.agent_id)
        .where(TeamMember.workspace_id == workspace_id, TeamMember.team_id.in_(team_ids))
        .order_by(TeamMember.team_id, TeamMember.agent_id)
    )
    for team_id, agent_id in rows:
        out[team_id].append(agent_id)
    return out


async def team_ids_of_agent(session: AsyncSession, *, workspace_id: int, agent_id: int) -> list[int]:
    """The ids of the teams an agent belongs to."""
    result = await session.scalars(
        select(TeamMember.team_id).where(
            TeamMember.workspace_id == workspace_id, TeamMember.agent_id == agent_id
        )
    )
    return list(result)


async def bump_session_version(session: AsyncSession, *, workspace_id: int, agent_id: int) -> Agent:
    """Invalidate every console session of an agent (their cookies carry the old version)."""
    agent = await get_agent(session, workspace_id=workspace_id, agent_id=agent_id)
    agent.session_version = (agent.session_version or 1) + 1
    await session.flush()
    return agent


async def set_agent_locale(session: AsyncSession, *, workspace_id: int, agent_id: int, locale: str) -> Agent:
    """Set the language the console is shown in."""
    if locale not in ("ko", "en"):
        raise Invalid("locale must be ko or en", code="invalid_locale")
    agent = await get_agent(session, workspace_id=workspace_id, agent_id=agent_id)
    agent.locale = locale
    await session.flush()
    return agent


async def update_agent(
    session: AsyncSession,
    *,
    workspace_id: int,
    agent_id: int,
    name: str | None = None,
    role: Role | None = None,
    locale: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> Agent:
    """Change an agent. Agents are deactivated, never deleted, so what they wrote keeps its
    author; a deactivated agent's sessions and tokens stop working at once."""
    agent = await get_agent(session, workspace_id=workspace_id, agent_id=agent_id)
    demoted = role is not None and role != Role.admin and agent.role == Role.admin
    deactivated = is_active is False and agent.is_active
    if (demoted or deactivated) and agent.role == Role.admin:
        admins = await session.scalar(
            select(func.count()).where(
                Agent.workspace_id == workspace_id, Agent.role == Role.admin, Agent.is_active.is_(True)
            )
        )
        if admins <= 1:
            raise Conflict("a workspace keeps at least one active admin", code="last_admin")
    if name is not None:
        if not name.strip():
            raise Invalid("an agent needs a name", code="invalid_name")
        agent.name = name.strip()
    if locale is not None:
        if locale not in ("ko", "en"):
            raise Invalid("locale must be ko or en", code="invalid_locale")
        agent.locale = locale
    if role is not None:
        agent.role = role
    if password is not None:
        rules = await policy.get(session, workspace_id=workspace_id)
        policy.check_password(rules, password, email=agent.email, name=agent.name)
        agent.password_hash = await asyncio.to_thread(hash_password, password)
    if is_active is not None:
        agent.is_active = is_active
    if password is not None or deactivated:
        agent.session_version = (agent.session_version or 1) + 1  # signs out every console session
    await session.flush()
    return agent


async def update_team(
    session: AsyncSession,
    *,
    workspace_id: int,
    team_id: int,
    name: str | None = None,
    agent_ids: list[int] | None = None,
) -> Team:
    """Rename a team and/or replace its members."""
    team = await get_team(session, workspace_id=workspace_id, team_id=team_id)
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid("a team needs a name", code="invalid_name")
        clash = await session.scalar(
            select(Team.id).where(Team.workspace_id == workspace_id, Team.name == name, Team.id != team.id)
        )
        if clash:
            raise Conflict(f"team '{name}' already exists", code="team_exists")
        team.name = name
    if agent_ids is not None:
        wanted = list(dict.fromkeys(agent_ids))
        for agent_id in wanted:
            await get_agent(session, workspace_id=workspace_id, agent_id=agent_id)
        # Row by row (a team has a handful of members), so the audit log sees who joined or left.
        current = {
            m.agent_id: m
            for m in await session.scalars(
                select(TeamMember).where(
                    TeamMember.workspace_id == workspace_id, TeamMember.team_id == team.id
                )
            )
        }
        for agent_id, member in current.items():
            if agent_id not in wanted:
                await session.delete(member)
        for agent_id in wanted:
            if agent_id not in current:
                session.add(TeamMember(workspace_id=workspace_id, team_id=team.id, agent_id=agent_id))
    await session.flush()
    return team


async def delete_team(session: AsyncSession, *, workspace_id: int, team_id: int) -> None:
    """Delete a team; its conversations keep their assignee and lose only the team."""
    team = await get_team(session, workspace_id=workspace_id, team_id=team_id)
    await session.delete(team)
    await session.flush()


async def add_notice(
    session: AsyncSession, *, workspace_id: int, agent_id: int, kind: str, details: dict
) -> AgentNotice:
    """Leave a notice the agent sees on their next console visit."""
    notice = AgentNotice(workspace_id=workspace_id, agent_id=agent_id, kind=kind, details=details)
    session.add(notice)
    await session.flush()
    return notice


async def unread_notices(session: AsyncSession, *, workspace_id: int, agent_id: int) -> list[AgentNotice]:
    """An agent's notices not yet dismissed, newest first."""
    result = await session.scalars(
        select(AgentNotice)
        .where(
            AgentNotice.workspace_id == workspace_id,
            AgentNotice.agent_id == agent_id,
            AgentNotice.read_at.is_(None),
        )
        .order_by(AgentNotice.id.desc())
        .limit(20)
    )
    return list(result)


async def dismiss_notice(session: AsyncSession, *, workspace_id: int, agent_id: int, notice_id: int) -> None:
    """Mark one of the agent's own notices as read."""
    notice = await session.scalar(
        select(AgentNotice).where(
            AgentNotice.workspace_id == workspace_id,
            AgentNotice.agent_id == agent_id,
            AgentNotice.id == notice_id,
        )
    )
    if notice is None:
        raise NotFound("notice not found")
    notice.read_at = datetime.now(UTC)


def _checked_override(rule: str, value: dict) -> dict:
    limit, period = value.get("limit"), value.get("period_s")
    if (
        not isinstance(limit, int)
        or not isinstance(period, int | float)
        or not 1 <= limit <= MAX_LIMIT
        or not 1 <= period <= MAX_PERIOD_S
    ):
        raise Invalid(
            f"{rule}: limit must be 1..{MAX_LIMIT} and period_s 1..{MAX_PERIOD_S}",
            code="invalid_rate_limit",
            details={"rule": rule},
        )
    return {"limit": int(limit), "period_s": int(period)}


async def set_rate_limits(
    session: AsyncSession, *, workspace_id: int, changes: dict[str, dict | None]
) -> dict[str, dict]:
    """Override some of the workspace's rate limits; None puts a rule back to the server default."""
    workspace = await get_workspace(session, workspace_id=workspace_id)
    current = dict(workspace.rate_limits or {})
    for rule, value in changes.items():
        if rule not in WORKSPACE_RULES:
            raise Invalid(f"unknown rate limit {rule!r}", code="invalid_rate_limit", details={"rule": rule})
        if value is None:
            current.pop(rule, None)
        else:
            current[rule] = _checked_override(rule, value)
    workspace.rate_limits = current  # a new dict: SQLAlchemy sees the change
    await session.flush()
    return current


def rate_limits_in_force(*, settings: Settings, overrides: dict | None) -> dict:
    """Every workspace-configurable limit: what applies, where it comes from, the default."""
    out = {}
    for rule in WORKSPACE_RULES:
        default = default_rate(settings, rule)
        default_out = {"limit": default.limit, "period_s": int(default.period_s)}
        own = (overrides or {}).get(rule)
        if own:
            out[rule] = {**own, "source": "workspace", "default": default_out}
        else:
            out[rule] = {**default_out, "source": "default", "default": default_out}
    return {"rules": out}
