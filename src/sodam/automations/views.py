"""Console: 자동화 — the rules with on/off toggles, their counts and last runs; the rule
editor (the trigger and its settings as fields; conditions as rows and steps as cards built by
console-automations.js into the JSON the API takes, the JSON itself behind 고급); the
workspace's automation settings (daily cap, quiet hours); the templates gallery (one click
enables a seed journey); a rule's runs; the dry run."""

from __future__ import annotations

import json
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.automations import service, templates, timeline
from sodam.automations.rules import CHANNELS, CONDITIONS, KEYED, PRIORITIES, STEPS, TRIGGERS
from sodam.channels import service as inboxes
from sodam.contacts import attributes
from sodam.core.errors import AppError, Invalid
from sodam.core.params import IdPath
from sodam.segments import service as segments
from sodam.surveys import service as surveys
from sodam.webhooks import service as webhooks

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


# What the builder offers for a message: the canned replies' placeholders and the event's.
PLACEHOLDERS = (
    "{{contact.first_name}}",
    "{{contact.name}}",
    "{{contact.email}}",
    "{{contact.company}}",
    "{{event.order_id}}",
)
LANGUAGE_CHOICES = ("ko", "en", "ja", "zh")
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


def _labels(ctx: Console) -> dict[str, Any]:
    """Every label the builder shows, spelled out (ko/en catalogs, no dynamic keys)."""
    t = ctx.t
    return {
        "fields": {
            "contact.language": t("automations.field.language"),
            "contact.attribute": t("automations.field.contact_attribute"),
            "contact.tag": t("automations.field.contact_tag"),
            "company.name": t("automations.field.company_name"),
            "company.plan": t("automations.field.company_plan"),
            "company.attribute": t("automations.field.company_attribute"),
            "segment": t("automations.field.segment"),
            "contact.resolved_conversations": t("automations.field.resolved"),
            "conversation.channel": t("automations.field.channel"),
            "conversation.inbox": t("automations.field.inbox"),
            "conversation.priority": t("automations.field.priority"),
            "conversation.tag": t("automations.field.conversation_tag"),
            "time.weekday": t("automations.field.weekday"),
            "time.business_hours": t("automations.field.business_hours"),
            "event.property": t("automations.field.event_property"),
        },
        "ops": {
            "in": t("automations.op.in"),
            "not_in": t("automations.op.not_in"),
            "eq": t("automations.op.eq"),
            "ne": t("automations.op.ne"),
            "contains": t("automations.op.contains"),
            "gt": t("automations.op.gt"),
            "gte": t("automations.op.gte"),
            "lt": t("automations.op.lt"),
            "lte": t("automations.op.lte"),
            "set": t("automations.op.set"),
            "not_set": t("automations.op.not_set"),
            "has": t("automations.op.has"),
            "has_not": t("automations.op.has_not"),
            "is": t("automations.op.is"),
        },
        "steps": {
            "message": t("automations.action.message"),
            "email": t("automations.action.email"),
            "tag": t("automations.action.tag"),
            "assign": t("automations.action.assign"),
            "priority": t("automations.action.priority"),
            "escalate": t("automations.action.escalate"),
            "survey": t("automations.action.survey"),
            "webhook": t("automations.action.webhook"),
            "wait": t("automations.action.wait"),
        },
        "languages": {
            "ko": t("automations.lang.ko"),
            "en": t("automations.lang.en"),
            "ja": t("automations.lang.ja"),
            "zh": t("automations.lang.zh"),
        },
        "channels": {
            "web_widget": t("automations.channel.web_widget"),
            "email": t("automations.channel.email"),
            "api": t("automations.channel.api"),
            "phone": t("automations.channel.phone"),
        },
        "priorities": {
            "none": t("automations.priority.none"),
            "low": t("automations.priority.low"),
            "medium": t("automations.priority.medium"),
            "high": t("automations.priority.high"),
            "urgent": t("automations.priority.urgent"),
        },
        "weekdays": [
            t("automations.weekday.mon"),
            t("automations.weekday.tue"),
            t("automations.weekday.wed"),
            t("automations.weekday.thu"),
            t("automations.weekday.fri"),
            t("automations.weekday.sat"),
            t("automations.weekday.sun"),
        ],
        "s": {
            "key": t("automations.b.key"),
            "other_key": t("automations.b.other_key"),
            "value": t("automations.b.value"),
            "list_hint": t("automations.b.list_hint"),
            "yes": t("automations.b.yes"),
            "no": t("automations.b.no"),
            "remove": t("automations.b.remove"),
            "up": t("automations.b.up"),
            "down": t("automations.b.down"),
            "step_n": t("automations.b.step_n"),
            "text_ko": t("automations.b.text_ko"),
            "text_en": t("automations.b.text_en"),
            "subject_ko": t("automations.b.subject_ko"),
            "subject_en": t("automations.b.subject_en"),
            "note_ko": t("automations.b.note_ko"),
            "note_en": t("automations.b.note_en"),
            "inbox": t("automations.b.inbox"),
            "inbox_auto": t("automations.b.inbox_auto"),
            "email_inbox": t("automations.b.email_inbox"),
            "tag": t("automations.b.tag"),
            "team": t("automations.b.team"),
            "agent": t("automations.b.agent"),
            "nobody": t("automations.b.nobody"),
            "priority": t("automations.b.priority"),
            "survey": t("automations.b.survey"),
            "webhook": t("automations.b.webhook"),
            "wait_for": t("automations.b.wait_for"),
            "hours": t("automations.b.hours"),
            "days": t("automations.b.days"),
            "insert": t("automations.b.insert"),
            "none_yet": t("automations.b.none_yet"),
            "choose": t("automations.b.choose"),
            "advanced_changed": t("automations.b.advanced_changed"),
            "fix_field": t("automations.b.fix_field"),
        },
    }


async def _catalog(ctx: Console) -> dict[str, Any]:
    """What the builder offers: fields and operators, and the workspace's own things to pick."""
    ws = ctx.workspace_id
    defs = list(await attributes.list_all(ctx.session, workspace_id=ws))
    inbox_rows = await inboxes.list_(ctx.session, workspace_id=ws)

    def attr(d) -> dict[str, Any]:
        return {"key": d.key, "label": d.label, "type": d.type, "options": list(d.options or [])}

    return {
        "conditions": {f: list(ops) for f, ops in CONDITIONS.items()},
        "keyed": list(KEYED),
        "steps": list(STEPS),
        "channels": list(CHANNELS),
        "priorities": list(PRIORITIES),
        "languages": list(LANGUAGE_CHOICES),
        "placeholders": list(PLACEHOLDERS),
        "contact_attributes": [attr(d) for d in defs if d.applies_to == "contact"],
        "company_attributes": [attr(d) for d in defs if d.applies_to == "company"],
        "segments": [
            {"id": s.id, "name": s.name}
            for s in await segments.list_(ctx.session, workspace_id=ws, limit=500)
        ],
        "inboxes": [{"id": i.id, "name": i.name, "channel": i.channel_type.value} for i in inbox_rows],
        "teams": [
            {"id": t.id, "name": t.name} for t in await accounts.list_teams(ctx.session, workspace_id=ws)
        ],
        "agents": [
            {"id": a.id, "name": a.name}
            for a in await accounts.list_agents(ctx.session, workspace_id=ws)
            if a.is_active
        ],
        "surveys": [
            {"id": s.id, "name": s.name}
            for s in await surveys.list_(ctx.session, workspace_id=ws, audience="customers", limit=500)
        ],
        "webhooks": [
            {"id": w.id, "name": w.description or w.url}
            for w in await webhooks.list_(ctx.session, workspace_id=ws)
        ],
        "labels": _labels(ctx),
    }


# The rules' reasons (sodam.automations.rules, English for the API) as the Korean console says
# them; a reason not listed here is shown as the API gives it.
KO_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^is required \(Korean and English\)$"), "한국어와 영어 문구를 모두 적어 주세요"),
    (re.compile(r"^is required$"), "꼭 필요한 항목입니다"),
    (re.compile(r"^must be text of 1 to (\d+) characters$"), r"1자 이상 \1자 이하로 적어 주세요"),
    (re.compile(r"^must be a whole number from (-?\d+) to (-?\d+)$"), r"\1부터 \2까지의 정수로 적어 주세요"),
    (re.compile(r"^must be a number$"), "숫자로 적어 주세요"),
    (re.compile(r"^must be true or false$"), "예 또는 아니요로 골라 주세요"),
    (re.compile(r"^must be text, a number or true/false$"), "글자, 숫자 또는 예/아니요로 적어 주세요"),
    (re.compile(r"^takes no value$"), "값이 필요 없는 조건입니다"),
    (re.compile(r"^must be a list of 1 to (\d+) values$"), r"값을 1개 이상 \1개 이하로 골라 주세요"),
    (re.compile(r"^a wait needs hours or days$"), "기다리는 시간을 시간이나 일로 정해 주세요"),
    (re.compile(r"^needs team_id or agent_id$"), "팀이나 상담원을 골라 주세요"),
    (re.compile(r"^must be a list of 1 or more steps$"), "단계를 하나 이상 추가해 주세요"),
    (
        re.compile(r"^needs at least one action besides waits$"),
        "기다리기 말고 실행할 단계가 하나 이상 필요합니다",
    ),
    (re.compile(r"^at most (\d+)$"), r"최대 \1개까지입니다"),
    (
        re.compile(r"^must be an event name such as order\.shipped$"),
        "order.shipped 같은 이벤트 이름을 적어 주세요",
    ),
    (re.compile(r"^must be an attribute( or property)? key$"), "속성 키를 적어 주세요"),
    (re.compile(r"^not used by this field$"), "이 항목에는 쓰지 않습니다"),
    (re.compile(r"^must be an object$"), "형식이 올바르지 않습니다"),
    (re.compile(r"^unknown field$"), "알 수 없는 항목입니다"),
    (re.compile(r"^(?:unknown (?:trigger|field): )?one of (.+)$"), r"다음 중 하나여야 합니다: \1"),
]


def reason_in(locale: str, reason: str) -> str:
    if locale != "ko":
        return reason
    for pattern, korean in KO_REASONS:
        if pattern.match(reason):
            return pattern.sub(korean, reason)
    return reason


def _error_of(exc: AppError, locale: str = "en") -> tuple[str, str | None]:
    """(the message above the form, the JSON path of the bad part when the rules say where)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if "path" not in details:
        return exc.message, None
    reason = reason_in(locale, str(details.get("reason") or ""))
    return f"{details['path']}: {reason}", str(details["path"])


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
    catalog = await _catalog(ctx)
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
        error, path = _error_of(exc, ctx.locale)
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
