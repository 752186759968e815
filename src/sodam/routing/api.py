"""REST API v1: availability (every agent, their own), capacity and skills, rules, team
routing methods and the live queue (`routing.manage`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy import func, select

from sodam.accounts import service as accounts
from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.models import Agent
from sodam.accounts.permissions import Permission
from sodam.conversations.models import Conversation, Status
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID
from sodam.routing import queue, service
from sodam.routing.models import AgentState
from sodam.routing.schemas import (
    AgentRoutingIn,
    AgentRoutingOut,
    AvailabilityIn,
    QueueOut,
    RuleIn,
    RuleOut,
    TeamMethodIn,
)

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Reader = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.work, "write"))]
ManagerReader = Annotated[Principal, Depends(api_access(Permission.routing_manage, "read"))]
ManagerWriter = Annotated[Principal, Depends(api_access(Permission.routing_manage, "write"))]


async def agents_out(
    session, *, workspace_id: int, agent_ids: list[int] | None = None
) -> list[AgentRoutingOut]:
    stmt = (
        select(Agent).where(Agent.workspace_id == workspace_id, Agent.is_active.is_(True)).order_by(Agent.id)
    )
    if agent_ids is not None:
        stmt = stmt.where(Agent.id.in_(agent_ids))
    agents = list(await session.scalars(stmt))
    ids = [a.id for a in agents]
    for agent_id in ids:
        await service.state_of(session, workspace_id=workspace_id, agent_id=agent_id)
    states = {
        s.agent_id: s for s in await session.scalars(select(AgentState).where(AgentState.agent_id.in_(ids)))
    }
    skills = await service.skills_of(session, workspace_id=workspace_id, agent_ids=ids)
    loads = dict(
        (
            await session.execute(
                select(Conversation.assignee_id, func.count())
                .where(
                    Conversation.workspace_id == workspace_id,
                    Conversation.status == Status.open,
                    Conversation.assignee_id.in_(ids),
                )
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    return [
        AgentRoutingOut(
            agent_id=a.id,
            name=a.name,
            availability=states[a.id].availability,
            chosen=states[a.id].chosen,
            changed_at=states[a.id].changed_at,
            wrap_up_until=states[a.id].wrap_up_until,
            last_assigned_at=states[a.id].last_assigned_at,
            capacity=states[a.id].capacity or {},
            skills=skills.get(a.id, {}),
            open_conversations=int(loads.get(a.id, 0)),
        )
        for a in agents
    ]


@router.get("/availability", summary="Your availability", response_model=AgentRoutingOut)
async def my_availability(principal: Reader, session: ApiSession):
    return (await agents_out(session, workspace_id=principal.workspace_id, agent_ids=[principal.agent_id]))[0]


@router.put(
    "/availability",
    summary="Set your availability",
    response_model=AgentRoutingOut,
    description="`online` takes new conversations; `busy` and `away` keep yours but take no new ones; "
    "`offline` also hands back the conversations you have not answered yet.",
)
async def set_my_availability(body: AvailabilityIn, principal: Writer, session: ApiSession):
    await service.set_availability(
        session,
        workspace_id=principal.workspace_id,
        agent_id=principal.agent_id,
        availability=body.availability,
        chosen=body.availability.value != "online",
        reason="chosen",
    )
    await session.commit()
    return (await agents_out(session, workspace_id=principal.workspace_id, agent_ids=[principal.agent_id]))[0]


@router.get(
    "/agents",
    summary="Every agent's availability, load, capacity and skills",
    response_model=list[AgentRoutingOut],
)
async def list_agents(principal: ManagerReader, session: ApiSession):
    return await agents_out(session, workspace_id=principal.workspace_id)


@router.patch(
    "/agents/{agent_id}", summary="Set an agent's capacity and/or skills", response_model=AgentRoutingOut
)
async def update_agent(agent_id: Id, body: AgentRoutingIn, principal: ManagerWriter, session: ApiSession):
    await service.update_agent_routing(
        session,
        workspace_id=principal.workspace_id,
        agent_id=agent_id,
        capacity=body.capacity,
        skills=body.skills,
    )
    await session.commit()
    return (await agents_out(session, workspace_id=principal.workspace_id, agent_ids=[agent_id]))[0]


@router.get("/rules", summary="Routing rules", response_model=list[RuleOut])
async def list_rules(principal: ManagerReader, session: ApiSession):
    return await service.list_rules(session, workspace_id=principal.workspace_id)


@router.post("/rules", summary="Add a routing rule", response_model=RuleOut, status_code=201)
async def create_rule(body: RuleIn, principal: ManagerWriter, session: ApiSession):
    rule = await service.create_rule(session, workspace_id=principal.workspace_id, **body.model_dump())
    await session.commit()
    return rule


@router.delete("/rules/{rule_id}", summary="Delete a routing rule", status_code=204)
async def delete_rule(rule_id: Id, principal: ManagerWriter, session: ApiSession):
    await service.delete_rule(session, workspace_id=principal.workspace_id, rule_id=rule_id)
    await session.commit()
    return Response(status_code=204)


@router.put("/team-methods/{team_id}", summary="How routing picks inside a team")
async def set_team_method(team_id: Id, body: TeamMethodIn, principal: ManagerWriter, session: ApiSession):
    team = await service.set_team_method(
        session, workspace_id=principal.workspace_id, team_id=team_id, method=body.method
    )
    await session.commit()
    return {"team_id": team.id, "method": team.routing_method}


@router.get(
    "/queue",
    summary="The live queue: waiting, longest wait, agents by availability, per team",
    response_model=QueueOut,
)
async def live_queue(principal: ManagerReader, session: ApiSession):
    teams = [(t.id, t.name) for t in await accounts.list_teams(session, workspace_id=principal.workspace_id)]
    view = await queue.live_view(session, workspace_id=principal.workspace_id, teams=teams)
    return QueueOut(
        waiting=view.waiting, longest_wait_seconds=view.longest_wait_s, agents=view.agents, teams=view.teams
    )
