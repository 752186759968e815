"""Console: 자동화 — the rules with on/off toggles, their counts and last runs; the rule
editor (trigger, conditions, steps with waits, as JSON with the trigger's settings as fields);
the templates gallery (one click enables a seed journey); a rule's runs; the dry run."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.automations import service, templates, timeline
from sodam.automations.rules import TRIGGERS
from sodam.core.errors import AppError
from sodam.core.params import IdPath

timeline.register()

router = APIRouter(prefix="/console/automations", include_in_schema=False)
Manager = Depends(console_access(Permission.automations_manage))
MAX_JSON_CHARS = 40_000
STARTER_STEPS = [
    {
        "type": "message",
        "text": {"ko": "{{contact.first_name}}님, 안녕하세요!", "en": "Hello {{contact.first_name}}!"},
    },
    {"type": "wait", "days": 1},
    {"type": "tag", "tag": "followed-up"},
]


def _json(raw: str, path: str) -> Any:
    from sodam.core.errors import Invalid

    if len(raw) > MAX_JSON_CHARS:
        raise Invalid(f"{path}: too long", code="invalid_rule", details={"path": path, "reason": "too long"})
    try:
        return json.loads(raw or "[]")
    except ValueError:
        raise Invalid(
            f"{path}: not JSON", code="invalid_rule", details={"path": path, "reason": "not JSON"}
        ) from None


def _trigger_config(form, trigger_type: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (kind, _required) in TRIGGERS.get(trigger_type, {}).items():
        raw = str(form.get(f"cfg_{key}") or "").strip()
        if not raw:
            continue
        out[key] = int(raw) if kind in ("days", "count", "id") and raw.isdigit() else raw
    return out


def _editor(ctx: Console, rule, *, values: dict[str, Any] | None = None, error: str | None = None):
    values = values or {}
    source = rule
    return ctx.render(
        "automations/edit.html",
        {
            "section": "automations",
            "rule": rule,
            "name": values.get("name", source.name if source else ""),
            "description": values.get("description", (source.description or "") if source else ""),
            "trigger_type": values.get("trigger_type", source.trigger_type if source else "contact.created"),
            "config": values.get("trigger_config", source.trigger_config if source else {}),
            "marketing": values.get("marketing", source.marketing if source else False),
            "business_hours": values.get("business_hours", source.business_hours if source else False),
            "enabled": values.get("enabled", source.enabled if source else False),
            "conditions_json": values.get(
                "conditions_json",
                json.dumps(source.conditions if source else [], ensure_ascii=False, indent=2),
            ),
            "steps_json": values.get(
                "steps_json",
                json.dumps(source.steps if source else STARTER_STEPS, ensure_ascii=False, indent=2),
            ),
            "error": error,
        },
    )


@router.get("")
async def automations_page(ctx: Console = Manager):
    rules = await service.list_(ctx.session, workspace_id=ctx.workspace_id, limit=500)
    counts = await service.counts(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "automations/list.html",
        {
            "section": "automations",
            "rules": rules,
            "counts": counts,
            "saved": ctx.request.query_params.get("saved"),
        },
    )


@router.get("/templates")
async def templates_page(ctx: Console = Manager):
    used = {
        r.template_key for r in await service.list_(ctx.session, workspace_id=ctx.workspace_id, limit=500)
    }
    return ctx.render(
        "automations/templates.html",
        {"section": "automations", "templates": templates.all_(), "used": used},
    )


@router.post("/templates/{key}")
async def use_template(key: str, ctx: Console = Manager):
    rules = await service.instantiate(
        ctx.session, workspace_id=ctx.workspace_id, key=key, created_by=ctx.agent.id
    )
    return RedirectResponse(f"/console/automations?saved={rules[0].id}", status_code=303)


@router.get("/new")
async def new_rule(ctx: Console = Manager):
    return _editor(ctx, None)


async def _save(request: Request, ctx: Console, rule_id: int | None):
    form = await request.form()
    trigger_type = str(form.get("trigger_type") or "")
    values: dict[str, Any] = {
        "name": str(form.get("name") or "").strip()[:200],
        "description": str(form.get("description") or "").strip()[:1000] or None,
        "trigger_type": trigger_type,
        "trigger_config": _trigger_config(form, trigger_type),
        "marketing": form.get("marketing") == "on",
        "business_hours": form.get("business_hours") == "on",
        "enabled": form.get("enabled") == "on",
        "conditions_json": str(form.get("conditions") or "[]"),
        "steps_json": str(form.get("steps") or "[]"),
    }
    current = None
    try:
        if rule_id is not None:
            current = await service.get(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
        fields = {k: v for k, v in values.items() if not k.endswith("_json")}
        fields["conditions"] = _json(values["conditions_json"], "conditions")
        fields["steps"] = _json(values["steps_json"], "steps")
        if rule_id is None:
            rule = await service.create(
                ctx.session, workspace_id=ctx.workspace_id, created_by=ctx.agent.id, **fields
            )
        else:
            rule = await service.update(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id, **fields)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        details = exc.details if isinstance(exc.details, dict) else {}
        error = exc.message if "path" not in details else f"{details['path']}: {details.get('reason')}"
        if current is not None:
            await ctx.session.refresh(current)
        return _editor(ctx, current, values=values, error=error)
    return RedirectResponse(f"/console/automations?saved={rule.id}", status_code=303)


@router.post("/new")
async def create_rule(request: Request, ctx: Console = Manager):
    return await _save(request, ctx, None)


@router.get("/{rule_id}")
async def edit_rule(rule_id: IdPath, ctx: Console = Manager):
    rule = await service.get(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    return _editor(ctx, rule)


@router.post("/{rule_id}")
async def save_rule(rule_id: IdPath, request: Request, ctx: Console = Manager):
    return await _save(request, ctx, rule_id)


@router.post("/{rule_id}/toggle")
async def toggle_rule(rule_id: IdPath, ctx: Console = Manager):
    rule = await service.get(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    await service.set_enabled(
        ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id, enabled=not rule.enabled
    )
    return RedirectResponse("/console/automations", status_code=303)


@router.post("/{rule_id}/delete")
async def delete_rule(rule_id: IdPath, ctx: Console = Manager):
    await service.delete(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    return RedirectResponse("/console/automations", status_code=303)


@router.post("/{rule_id}/dry-run")
async def dry_run(rule_id: IdPath, ctx: Console = Manager):
    """The editor's 미리 보기 button: the contacts the rule reaches now (a fragment)."""
    try:
        result = await service.dry_run(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
        error = None
    except AppError as exc:
        if exc.status_code == 404:
            raise
        result, error = None, exc.code
    return ctx.render("automations/_dry_run.html", {"result": result, "error": error})


@router.get("/{rule_id}/runs")
async def runs_page(rule_id: IdPath, ctx: Console = Manager):
    rule = await service.get(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    rows = await service.runs(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id, limit=100)
    steps = await service.run_steps(ctx.session, workspace_id=ctx.workspace_id, run_ids=[r.id for r in rows])
    return ctx.render(
        "automations/runs.html", {"section": "automations", "rule": rule, "runs": rows, "steps": steps}
    )
