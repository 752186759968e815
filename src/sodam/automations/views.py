"""Console: 자동화 — the rules with on/off toggles, their counts and last runs; the rule
editor (the trigger and its settings as fields; conditions as rows and steps as cards built by
console-automations.js into the JSON the API takes, the JSON itself behind 고급); the
workspace's automation settings (daily cap, quiet hours); the templates gallery (one click
enables a seed journey); a rule's runs; the dry run."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.automations import builder, service, templates, timeline
from sodam.automations.rules import TRIGGERS
from sodam.core.errors import AppError, Invalid
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


TIMEZONES = (
    "Asia/Seoul",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Ho_Chi_Minh",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
)


def _json(raw: str, path: str) -> Any:
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


async def _editor(
    ctx: Console,
    rule,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    error_path: str | None = None,
):
    values = values or {}
    source = rule
    catalog = await builder.catalog(ctx)
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
            "error_path": error_path,
            "catalog": catalog,
        },
        status_code=422 if error else 200,
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


def _settings_page(ctx: Console, values: dict[str, Any], errors: dict[str, str], *, saved: bool = False):
    zones = list(TIMEZONES)
    if values.get("timezone") and values["timezone"] not in zones:
        zones.insert(0, values["timezone"])
    return ctx.render(
        "automations/settings.html",
        {
            "section": "automations",
            "values": values,
            "errors": errors,
            "saved": saved,
            "timezones": zones,
            "hours": list(range(24)),
        },
        status_code=422 if errors else 200,
    )


@router.get("/settings")
async def settings_page(ctx: Console = Manager):
    """The workspace's daily cap on automated messages and its quiet hours."""
    current = await service.get_settings(ctx.session, workspace_id=ctx.workspace_id)
    values = {
        "daily_cap": current.daily_cap,
        "quiet_start": current.quiet_start,
        "quiet_end": current.quiet_end,
        "timezone": current.timezone,
    }
    return _settings_page(ctx, values, {}, saved=ctx.request.query_params.get("saved") == "1")


def _whole(raw: str, lo: int, hi: int) -> int | None:
    raw = raw.strip()
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        return None
    return int(raw)


@router.post("/settings")
async def save_settings(request: Request, ctx: Console = Manager):
    form = await request.form()
    raw = {
        k: str(form.get(k) or "").strip()[:80] for k in ("daily_cap", "quiet_start", "quiet_end", "timezone")
    }
    errors: dict[str, str] = {}
    cap = _whole(raw["daily_cap"], 0, 100)
    if cap is None:
        errors["daily_cap"] = ctx.t("automations.settings.error.cap")
    start = _whole(raw["quiet_start"], 0, 23)
    end = _whole(raw["quiet_end"], 0, 23)
    if start is None:
        errors["quiet_start"] = ctx.t("automations.settings.error.hour")
    if end is None:
        errors["quiet_end"] = ctx.t("automations.settings.error.hour")
    try:
        ZoneInfo(raw["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = ctx.t("automations.settings.error.timezone")
    if errors:
        return _settings_page(ctx, raw, errors)
    await service.save_settings(
        ctx.session,
        workspace_id=ctx.workspace_id,
        daily_cap=cap,
        quiet_start=start,
        quiet_end=end,
        timezone=raw["timezone"],
    )
    return RedirectResponse("/console/automations/settings?saved=1", status_code=303)


@router.get("/new")
async def new_rule(ctx: Console = Manager):
    return await _editor(ctx, None)


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
        error, path = builder.error_of(exc, ctx.locale)
        if current is not None:
            await ctx.session.refresh(current)
        return await _editor(ctx, current, values=values, error=error, error_path=path)
    return RedirectResponse(f"/console/automations?saved={rule.id}", status_code=303)


@router.post("/new")
async def create_rule(request: Request, ctx: Console = Manager):
    return await _save(request, ctx, None)


@router.get("/{rule_id}")
async def edit_rule(rule_id: IdPath, ctx: Console = Manager):
    rule = await service.get(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    return await _editor(ctx, rule)


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
