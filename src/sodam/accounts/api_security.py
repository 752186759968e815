"""API: the workspace's sign-in rules and agents' console sessions and second factor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from sodam.accounts import policy, service, signins, twofactor
from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.accounts.schemas import (
    AgentSessionOut,
    SecurityPolicyOut,
    SecurityPolicyPatch,
    TwoFactorStatusOut,
)
from sodam.core.deps import Principal
from sodam.core.params import IdPath

router = APIRouter(prefix="/api/v1")

SecurityReader = Annotated[Principal, Depends(api_access(Permission.security_manage, "read"))]
SecurityWriter = Annotated[Principal, Depends(api_access(Permission.security_manage, "write"))]
AgentsReader = Annotated[Principal, Depends(api_access(Permission.agents_manage, "read"))]
AgentsWriter = Annotated[Principal, Depends(api_access(Permission.agents_manage, "write"))]
Self = Annotated[Principal, Depends(api_access(Permission.work, "read"))]
SelfWriter = Annotated[Principal, Depends(api_access(Permission.work, "write"))]


@router.get(
    "/workspace/security", tags=["security"], response_model=SecurityPolicyOut, summary="Sign-in rules"
)
async def get_security(principal: SecurityReader, session: ApiSession):
    return (await policy.get(session, workspace_id=principal.workspace_id)).as_dict()


@router.patch(
    "/workspace/security",
    tags=["security"],
    response_model=SecurityPolicyOut,
    summary="Change sign-in rules (required 2FA, password length, agents' e-mail domains)",
    responses={422: {"description": "`invalid_domain`, `invalid_password_min_length`, `validation_error`"}},
)
async def update_security(body: SecurityPolicyPatch, principal: SecurityWriter, session: ApiSession):
    updated = await policy.update(
        session, workspace_id=principal.workspace_id, **body.model_dump(exclude_unset=True)
    )
    return updated.as_dict()


@router.get(
    "/agents/me/sessions",
    tags=["security"],
    response_model=list[AgentSessionOut],
    summary="My console sessions",
)
async def my_sessions(principal: Self, session: ApiSession):
    return await signins.list_active(
        session, workspace_id=principal.workspace_id, agent_id=principal.agent_id
    )


@router.delete(
    "/agents/me/sessions/{session_id}",
    tags=["security"],
    status_code=204,
    summary="Sign out one of my sessions",
)
async def end_my_session(session_id: IdPath, principal: SelfWriter, session: ApiSession):
    await signins.revoke(
        session, workspace_id=principal.workspace_id, agent_id=principal.agent_id, session_id=session_id
    )
    return Response(status_code=204)


@router.get(
    "/agents/{agent_id}/sessions",
    tags=["security"],
    response_model=list[AgentSessionOut],
    summary="An agent's console sessions",
)
async def agent_sessions(agent_id: IdPath, principal: AgentsReader, session: ApiSession):
    await service.get_agent(session, workspace_id=principal.workspace_id, agent_id=agent_id)
    return await signins.list_active(session, workspace_id=principal.workspace_id, agent_id=agent_id)


@router.delete(
    "/agents/{agent_id}/sessions", tags=["security"], status_code=204, summary="Sign an agent out everywhere"
)
async def end_agent_sessions(agent_id: IdPath, principal: AgentsWriter, session: ApiSession):
    await service.get_agent(session, workspace_id=principal.workspace_id, agent_id=agent_id)
    await signins.revoke_all(session, workspace_id=principal.workspace_id, agent_id=agent_id)
    return Response(status_code=204)


@router.post(
    "/agents/{agent_id}/two-factor/reset",
    tags=["security"],
    response_model=TwoFactorStatusOut,
    summary="Remove an agent's second factor (lost phone); signs them out everywhere",
)
async def reset_two_factor(agent_id: IdPath, principal: AgentsWriter, session: ApiSession):
    agent = await service.get_agent(session, workspace_id=principal.workspace_id, agent_id=agent_id)
    await twofactor.reset(session, agent=agent)
    await signins.revoke_all(session, workspace_id=principal.workspace_id, agent_id=agent_id)
    return {"agent_id": agent.id, "enabled": False}
