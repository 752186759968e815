"""REST API v1: agents and teams of the caller's workspace."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from sodam.accounts import service
from sodam.accounts.auth import ApiSession, ReadPrincipal, api_access
from sodam.accounts.permissions import Permission
from sodam.accounts.schemas import (
    AgentIn,
    AgentOut,
    AgentPatch,
    RateLimitsOut,
    RateLimitsPatch,
    TeamIn,
    TeamOut,
    TeamPatch,
)
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID, Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.ratelimit import settings_of

router = APIRouter(prefix="/api/v1")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
AgentsManager = Annotated[Principal, Depends(api_access(Permission.agents_manage, "write"))]
TeamsManager = Annotated[Principal, Depends(api_access(Permission.teams_manage, "write"))]
LimitsReader = Annotated[Principal, Depends(api_access(Permission.security_manage, "read"))]
LimitsManager = Annotated[Principal, Depends(api_access(Permission.security_manage, "write"))]


@router.get("/agents", tags=["agents"], summary="List agents", response_model=Page[AgentOut])
async def list_agents(principal: ReadPrincipal, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "agents", {"id": int})["id"] if page.cursor else None
    rows = await service.list_agents_page(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda a: encode_cursor("agents", {"id": a.id}))
    return {"data": rows, "next_cursor": cursor}


@router.get("/agents/me", tags=["agents"], summary="The agent this token acts as", response_model=AgentOut)
async def me(principal: ReadPrincipal, session: ApiSession):
    return await service.get_agent(session, workspace_id=principal.workspace_id, agent_id=principal.agent_id)


@router.get("/agents/{agent_id}", tags=["agents"], summary="Get an agent", response_model=AgentOut)
async def get_agent(agent_id: Id, principal: ReadPrincipal, session: ApiSession):
    return await service.get_agent(session, workspace_id=principal.workspace_id, agent_id=agent_id)


@router.post(
    "/agents",
    tags=["agents"],
    summary="Add an agent (agents.manage)",
    status_code=201,
    response_model=AgentOut,
    responses={409: {"description": "An agent with this e-mail exists (`agent_exists`)."}},
)
async def create_agent(body: AgentIn, principal: AgentsManager, session: ApiSession):
    return await service.create_agent(
        session,
        workspace_id=principal.workspace_id,
        email=body.email,
        name=body.name,
        password=body.password,
        role=body.role,
        locale=body.locale,
    )


@router.patch(
    "/agents/{agent_id}",
    tags=["agents"],
    summary="Change an agent's name, role, language, password or deactivate it (agents.manage)",
    response_model=AgentOut,
    responses={
        409: {"description": "The last active admin cannot be demoted or deactivated (`last_admin`)."}
    },
)
async def update_agent(agent_id: Id, body: AgentPatch, principal: AgentsManager, session: ApiSession):
    return await service.update_agent(
        session, workspace_id=principal.workspace_id, agent_id=agent_id, **body.model_dump(exclude_unset=True)
    )


async def _team_out(session, workspace_id: int, teams) -> list[TeamOut]:
    members = await service.member_ids_by_team(
        session, workspace_id=workspace_id, team_ids=[t.id for t in teams]
    )
    return [TeamOut.model_validate(t).model_copy(update={"member_ids": members.get(t.id, [])}) for t in teams]


@router.get("/teams", tags=["teams"], summary="List teams (with member ids)", response_model=Page[TeamOut])
async def list_teams(principal: ReadPrincipal, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "teams", {"id": int})["id"] if page.cursor else None
    rows = await service.list_teams_page(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda t: encode_cursor("teams", {"id": t.id}))
    return {"data": await _team_out(session, principal.workspace_id, rows), "next_cursor": cursor}


@router.get(
    "/teams/{team_id}", tags=["teams"], summary="Get a team with its member ids", response_model=TeamOut
)
async def get_team(team_id: Id, principal: ReadPrincipal, session: ApiSession):
    team = await service.get_team(session, workspace_id=principal.workspace_id, team_id=team_id)
    return (await _team_out(session, principal.workspace_id, [team]))[0]


@router.post(
    "/teams",
    tags=["teams"],
    summary="Create a team (teams.manage)",
    status_code=201,
    response_model=TeamOut,
    responses={409: {"description": "A team with this name exists (`team_exists`)."}},
)
async def create_team(body: TeamIn, principal: TeamsManager, session: ApiSession):
    team = await service.create_team(
        session, workspace_id=principal.workspace_id, name=body.name, agent_ids=body.agent_ids
    )
    return (await _team_out(session, principal.workspace_id, [team]))[0]


@router.patch(
    "/teams/{team_id}",
    tags=["teams"],
    summary="Rename a team or replace its members (teams.manage)",
    response_model=TeamOut,
    responses={409: {"description": "A team with this name exists (`team_exists`)."}},
)
async def update_team(team_id: Id, body: TeamPatch, principal: TeamsManager, session: ApiSession):
    team = await service.update_team(
        session, workspace_id=principal.workspace_id, team_id=team_id, **body.model_dump(exclude_unset=True)
    )
    return (await _team_out(session, principal.workspace_id, [team]))[0]


@router.delete(
    "/teams/{team_id}",
    tags=["teams"],
    summary="Delete a team (teams.manage); its conversations lose only the team",
    status_code=204,
)
async def delete_team(team_id: Id, principal: TeamsManager, session: ApiSession):
    await service.delete_team(session, workspace_id=principal.workspace_id, team_id=team_id)
    return Response(status_code=204)


@router.get(
    "/workspace/rate-limits",
    tags=["workspace"],
    summary="The workspace's rate limits (security.manage)",
    response_model=RateLimitsOut,
)
async def get_rate_limits(request: Request, principal: LimitsReader, session: ApiSession):
    workspace = await service.get_workspace(session, workspace_id=principal.workspace_id)
    return service.rate_limits_in_force(settings=settings_of(request), overrides=workspace.rate_limits)


@router.patch(
    "/workspace/rate-limits",
    tags=["workspace"],
    summary="Change some of the workspace's rate limits (security.manage); null restores the default",
    response_model=RateLimitsOut,
)
async def update_rate_limits(
    request: Request, body: RateLimitsPatch, principal: LimitsManager, session: ApiSession
):
    changes = {rule: value.model_dump() if value else None for rule, value in body.rules.items()}
    current = await service.set_rate_limits(session, workspace_id=principal.workspace_id, changes=changes)
    return service.rate_limits_in_force(settings=settings_of(request), overrides=current)
