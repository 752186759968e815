"""The rule builder's side of the console: what it offers (fields, operators, the workspace's
own segments, inboxes, teams, agents, surveys and webhooks, every label ko/en) and how the
rules' English reasons read in the Korean console."""

from __future__ import annotations

import re
from typing import Any

from sodam.accounts import service as accounts
from sodam.accounts.sessions import Console
from sodam.automations.rules import CHANNELS, CONDITIONS, KEYED, PRIORITIES, STEPS
from sodam.channels import service as inboxes
from sodam.contacts import attributes
from sodam.core.errors import AppError
from sodam.segments import service as segments
from sodam.surveys import service as surveys
from sodam.webhooks import service as webhooks

# What the builder offers for a message: the canned replies' placeholders and the event's.
PLACEHOLDERS = (
    "{{contact.first_name}}",
    "{{contact.name}}",
    "{{contact.email}}",
    "{{contact.company}}",
    "{{event.order_id}}",
)
LANGUAGE_CHOICES = ("ko", "en", "ja", "zh")


def labels(ctx: Console) -> dict[str, Any]:
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


async def catalog(ctx: Console) -> dict[str, Any]:
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
        "labels": labels(ctx),
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


def error_of(exc: AppError, locale: str = "en") -> tuple[str, str | None]:
    """(the message above the form, the JSON path of the bad part when the rules say where)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if "path" not in details:
        return exc.message, None
    reason = reason_in(locale, str(details.get("reason") or ""))
    return f"{details['path']}: {reason}", str(details["path"])
