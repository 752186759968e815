"""REST API v1: page rules (도움말 제안) — CRUD and their reach / self-service figures.
Reading and changing both need `pagehelp.manage`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.core.deps import Principal
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.params import IdPath
from sodam.pagehelp import service
from sodam.pagehelp.schemas import PageRuleIn, PageRuleOut, PageRuleUpdate, StatsOut

router = APIRouter(prefix="/api/v1/page-rules", tags=["page rules"])

Reader = Annotated[Principal, Depends(api_access(Permission.pagehelp_manage, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.pagehelp_manage, "write"))]
Days = Annotated[int, Query(ge=1, le=365, description="The period: the last N days.")]
BAD_RULE = {
    422: {
        "description": "A bad pattern (`invalid_pattern`, details: field and reason), an inbox that is "
        "not a widget inbox of this workspace (`invalid_inbox`), unknown articles (`unknown_article`), "
        "a rule with neither message nor articles (`empty_rule`)."
    },
    409: {"description": "The name is taken (`page_rule_name_taken`)."},
}


@router.get("", summary="List page rules", response_model=Page[PageRuleOut])
async def list_rules(principal: Reader, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "page_rules", {"id": int})["id"] if page.cursor else None
    rows = await service.list_(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda r: encode_cursor("page_rules", {"id": r.id}))
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "", summary="Create a page rule", status_code=201, response_model=PageRuleOut, responses=BAD_RULE
)
async def create_rule(body: PageRuleIn, principal: Writer, session: ApiSession):
    rule = await service.create(
        session, workspace_id=principal.workspace_id, created_by=principal.agent_id, **body.model_dump()
    )
    await session.refresh(rule)
    return rule


@router.get(
    "/stats",
    summary="Reach and self-service of every page rule",
    description="One row per rule shown in the period (rules never shown are left out).",
    response_model=list[StatsOut],
)
async def all_stats(principal: Reader, session: ApiSession, days: Days = 30):
    found = await service.stats(session, workspace_id=principal.workspace_id, days=days)
    return [found[k] for k in sorted(found)]


@router.get("/{rule_id}", summary="Get a page rule", response_model=PageRuleOut)
async def get_rule(rule_id: IdPath, principal: Reader, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, rule_id=rule_id)


@router.patch("/{rule_id}", summary="Change a page rule", response_model=PageRuleOut, responses=BAD_RULE)
async def update_rule(rule_id: IdPath, body: PageRuleUpdate, principal: Writer, session: ApiSession):
    changes = body.model_dump(exclude_unset=True)
    rule = await service.update_(session, workspace_id=principal.workspace_id, rule_id=rule_id, **changes)
    await session.refresh(rule)
    return rule


@router.delete("/{rule_id}", summary="Delete a page rule", status_code=204)
async def delete_rule(rule_id: IdPath, principal: Writer, session: ApiSession):
    await service.delete(session, workspace_id=principal.workspace_id, rule_id=rule_id)
    return Response(status_code=204)


@router.get(
    "/{rule_id}/stats",
    summary="A page rule's reach and self-service",
    description="Visitors it reached, and how many then needed no agent within 24 hours (docs/pagehelp.md).",
    response_model=StatsOut,
)
async def rule_stats(rule_id: IdPath, principal: Reader, session: ApiSession, days: Days = 30):
    rule = await service.get(session, workspace_id=principal.workspace_id, rule_id=rule_id)
    found = await service.stats(session, workspace_id=principal.workspace_id, rule_ids=[rule.id], days=days)
    return found[rule.id]
