"""REST API v1: SLA policies (매니저 and admins, permission `sla.manage`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.pagination import MAX_ID, Page
from sodam.sla import service
from sodam.sla.schemas import PolicyIn, PolicyOut, PolicyPatch

router = APIRouter(prefix="/api/v1/sla-policies", tags=["SLA policies"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Reader = Annotated[Principal, Depends(api_access(Permission.sla_manage, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.sla_manage, "write"))]
CONFLICT = {409: {"description": "Another policy has this name (`sla_policy_name_taken`)."}}


def _rows(body: PolicyIn | PolicyPatch) -> dict:
    data = body.model_dump(exclude_unset=True, mode="json")
    if "targets" in data and data["targets"] is not None:
        data["targets"] = [row for row in data["targets"]]
    return data


@router.get(
    "",
    summary="List the SLA policies",
    response_model=Page[PolicyOut],
    description="Every policy of the workspace (a workspace has a handful), the default first.",
)
async def list_policies(principal: Reader, session: ApiSession):
    return {"data": await service.list_(session, workspace_id=principal.workspace_id), "next_cursor": None}


@router.post(
    "",
    summary="Create an SLA policy",
    status_code=201,
    response_model=PolicyOut,
    responses=CONFLICT,
    description="Targets are seconds per (contact tier, priority) row; `*` matches any. The most "
    "specific row wins (exact tier before exact priority). `business_hours`: measured in the "
    "inbox's business hours, else in calendar time. A new default replaces the old one.",
)
async def create_policy(body: PolicyIn, principal: Writer, session: ApiSession):
    return await service.create(session, workspace_id=principal.workspace_id, **_rows(body))


@router.get("/{policy_id}", summary="Get an SLA policy", response_model=PolicyOut)
async def get_policy(policy_id: Id, principal: Reader, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, policy_id=policy_id)


@router.patch("/{policy_id}", summary="Change an SLA policy", response_model=PolicyOut, responses=CONFLICT)
async def update_policy(policy_id: Id, body: PolicyPatch, principal: Writer, session: ApiSession):
    return await service.update_(
        session, workspace_id=principal.workspace_id, policy_id=policy_id, changes=_rows(body)
    )


@router.delete(
    "/{policy_id}",
    summary="Delete an SLA policy",
    status_code=204,
    description="Open conversations keep their due times until their next change recomputes them.",
)
async def delete_policy(policy_id: Id, principal: Writer, session: ApiSession):
    await service.delete(session, workspace_id=principal.workspace_id, policy_id=policy_id)
    return Response(status_code=204)
