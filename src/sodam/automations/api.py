"""REST API v1: automation rules (CRUD, enable/disable, dry run, runs, templates, settings)
with `automations.manage`, and custom events the company's systems post (`work`, write)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from sodam.accounts.auth import ApiSession, api_access
from sodam.accounts.permissions import Permission
from sodam.automations import service, templates, timeline
from sodam.automations.schemas import (
    EventIn,
    EventOut,
    RuleIn,
    RuleOut,
    RuleUpdate,
    RunOut,
    SettingsIn,
    SettingsOut,
    TemplateIn,
)
from sodam.core.deps import Principal
from sodam.core.errors import Invalid
from sodam.core.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from sodam.core.params import IdPath
from sodam.jobs.app import defer_in_tx

timeline.register()

router = APIRouter(prefix="/api/v1/automations", tags=["automations"])
events_router = APIRouter(prefix="/api/v1/events", tags=["automations"])

Reader = Annotated[Principal, Depends(api_access(Permission.automations_manage, "read"))]
Writer = Annotated[Principal, Depends(api_access(Permission.automations_manage, "write"))]
Poster = Annotated[Principal, Depends(api_access(Permission.work, "write"))]
INVALID = {
    422: {"description": "A bad trigger, condition or step (`invalid_rule`, details: path and reason)."}
}


@router.get("", summary="List automation rules", response_model=Page[RuleOut])
async def list_rules(principal: Reader, session: ApiSession, page: PageQuery):
    after = decode_cursor(page.cursor, "automations", {"id": int})["id"] if page.cursor else None
    rows = await service.list_(
        session, workspace_id=principal.workspace_id, after_id=after, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda r: encode_cursor("automations", {"id": r.id}))
    return {"data": rows, "next_cursor": cursor}


@router.post(
    "", summary="Create an automation rule", status_code=201, response_model=RuleOut, responses=INVALID
)
async def create_rule(body: RuleIn, principal: Writer, session: ApiSession):
    rule = await service.create(
        session, workspace_id=principal.workspace_id, created_by=principal.agent_id, **body.model_dump()
    )
    await session.refresh(rule)
    return rule


@router.get("/templates", summary="The seed journeys, ready to instantiate")
async def list_templates(principal: Reader) -> dict:
    return {"data": templates.all_()}


@router.post(
    "/templates/{key}",
    summary="Create (and enable) the rules of a seed journey",
    status_code=201,
    response_model=list[RuleOut],
)
async def instantiate_template(key: str, body: TemplateIn, principal: Writer, session: ApiSession):
    rules = await service.instantiate(
        session,
        workspace_id=principal.workspace_id,
        key=key,
        created_by=principal.agent_id,
        enabled=body.enabled,
    )
    for rule in rules:
        await session.refresh(rule)
    return rules


@router.get("/settings", summary="Daily cap and quiet hours", response_model=SettingsOut)
async def get_settings(principal: Reader, session: ApiSession):
    return await service.get_settings(session, workspace_id=principal.workspace_id)


@router.put("/settings", summary="Change the daily cap and quiet hours", response_model=SettingsOut)
async def put_settings(body: SettingsIn, principal: Writer, session: ApiSession):
    return await service.save_settings(session, workspace_id=principal.workspace_id, **body.model_dump())


@router.get("/{rule_id}", summary="Get an automation rule", response_model=RuleOut)
async def get_rule(rule_id: IdPath, principal: Reader, session: ApiSession):
    return await service.get(session, workspace_id=principal.workspace_id, rule_id=rule_id)


@router.patch("/{rule_id}", summary="Change an automation rule", response_model=RuleOut, responses=INVALID)
async def update_rule(rule_id: IdPath, body: RuleUpdate, principal: Writer, session: ApiSession):
    return await service.update(
        session, workspace_id=principal.workspace_id, rule_id=rule_id, **body.model_dump(exclude_unset=True)
    )


@router.delete("/{rule_id}", summary="Delete an automation rule (and its runs)", status_code=204)
async def delete_rule(rule_id: IdPath, principal: Writer, session: ApiSession):
    await service.delete(session, workspace_id=principal.workspace_id, rule_id=rule_id)
    return Response(status_code=204)


@router.post("/{rule_id}/enable", summary="Turn a rule on", response_model=RuleOut)
async def enable_rule(rule_id: IdPath, principal: Writer, session: ApiSession):
    return await service.set_enabled(
        session, workspace_id=principal.workspace_id, rule_id=rule_id, enabled=True
    )


@router.post(
    "/{rule_id}/disable", summary="Turn a rule off (waiting runs are cancelled)", response_model=RuleOut
)
async def disable_rule(rule_id: IdPath, principal: Writer, session: ApiSession):
    return await service.set_enabled(
        session, workspace_id=principal.workspace_id, rule_id=rule_id, enabled=False
    )


@router.post(
    "/{rule_id}/dry-run",
    summary="Which contacts the rule would reach right now",
    description="For state-based triggers (contact.inactive, contact.age, segment.member): the same "
    "function the periodic sweep uses to create runs. 422 `dry_run_unsupported` for event triggers.",
)
async def dry_run(rule_id: IdPath, principal: Writer, session: ApiSession) -> dict:
    return await service.dry_run(session, workspace_id=principal.workspace_id, rule_id=rule_id)


@router.get("/{rule_id}/runs", summary="A rule's runs, newest first", response_model=Page[RunOut])
async def list_runs(rule_id: IdPath, principal: Reader, session: ApiSession, page: PageQuery):
    before = decode_cursor(page.cursor, "automation_runs", {"id": int})["id"] if page.cursor else None
    rows = await service.runs(
        session, workspace_id=principal.workspace_id, rule_id=rule_id, before_id=before, limit=page.limit + 1
    )
    rows, cursor = page_of(rows, page.limit, lambda r: encode_cursor("automation_runs", {"id": r.id}))
    steps = await service.run_steps(
        session, workspace_id=principal.workspace_id, run_ids=[r.id for r in rows]
    )
    data = []
    for r in rows:
        out = RunOut.model_validate(r)
        out.steps = [
            {"step": s.step, "action": s.action, "outcome": s.outcome, "detail": s.detail, "at": s.created_at}
            for s in steps.get(r.id, [])
        ]
        data.append(out)
    return {"data": data, "next_cursor": cursor}


@events_router.post(
    "",
    summary="Post a custom event about a contact (order shipped, payment failed…)",
    status_code=202,
    response_model=EventOut,
    responses={
        200: {"description": "A retry with the same Idempotency-Key and body: the stored event."},
        404: {"description": "No such contact in this workspace."},
        409: {"description": "The key was used with another body (`idempotency_key_reused`)."},
    },
)
async def post_event(
    body: EventIn,
    principal: Poster,
    session: ApiSession,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None,
):
    if len(json.dumps(body.properties)) > 8000:
        raise Invalid("properties are too large (8,000 bytes at most)", code="properties_too_large")
    ref = body.contact
    contact = await service.find_contact(
        session,
        workspace_id=principal.workspace_id,
        contact_id=ref.id,
        external_id=ref.external_id,
        email=ref.email,
    )
    event, created = await service.record_event(
        session,
        workspace_id=principal.workspace_id,
        contact_id=contact.id,
        name=body.name,
        properties=body.properties,
        key=idempotency_key,
    )
    if created:
        await defer_in_tx(
            session,
            "automations.process",
            {"workspace_id": principal.workspace_id},
            lock=f"automations-{principal.workspace_id}",
        )
    else:
        response.status_code = 200
    return EventOut(
        id=event.id,
        name=event.name,
        contact_id=event.contact_id,
        properties=event.data,
        occurred_at=event.occurred_at,
        created=created,
    )
