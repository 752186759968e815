"""Console: 도움말 제안 (page rules) — the list with each rule's reach and how many then needed
no agent, and the editor (pattern, time on page, exit intent, ko/en message, articles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.channels import service as inboxes
from sodam.core.errors import AppError, Invalid
from sodam.core.params import IdPath
from sodam.knowledge import service as knowledge
from sodam.pagehelp import service
from sodam.pagehelp.models import PageRule

router = APIRouter(prefix="/console/page-rules", include_in_schema=False)
Manager = Depends(console_access(Permission.pagehelp_manage))


async def _choices(ctx: Console) -> dict[str, Any]:
    widget_inboxes = [
        i
        for i in await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)
        if i.channel_type.value == "web_widget"
    ]
    articles = await knowledge.list_articles(
        ctx.session, workspace_id=ctx.workspace_id, status="published", limit=200
    )
    return {"section": "page_rules", "inboxes": widget_inboxes, "articles": articles}


@router.get("")
async def rules_page(ctx: Console = Manager):
    """Every rule with its last 30 days: visitors reached, self-served, needed an agent."""
    rules = await service.list_(ctx.session, workspace_id=ctx.workspace_id, limit=500)
    figures = await service.stats(
        ctx.session, workspace_id=ctx.workspace_id, rule_ids=[r.id for r in rules], days=30
    )
    return ctx.render(
        "pagehelp/list.html",
        {
            "section": "page_rules",
            "rules": rules,
            "stats": figures,
            "saved": ctx.request.query_params.get("saved"),
        },
    )


def _form_values(form) -> dict[str, Any]:
    def number(key: str, default: int) -> int:
        try:
            return int(str(form.get(key) or default).strip())
        except ValueError:
            return -1  # refused by the checks with the field named

    inbox = str(form.get("inbox_id") or "").strip()
    return {
        "name": str(form.get("name") or "").strip()[:200],
        "inbox_id": int(inbox) if inbox.isdigit() else None,
        "enabled": form.get("enabled") == "on",
        "match_type": str(form.get("match_type") or "glob"),
        "pattern": str(form.get("pattern") or "")[:600],
        "seconds": number("seconds", 0),
        "exit_intent": form.get("exit_intent") == "on",
        "display": "open" if form.get("display") == "open" else "bubble",
        "message": {
            "ko": str(form.get("message_ko") or "")[:1000],
            "en": str(form.get("message_en") or "")[:1000],
        },
        "article_mode": str(form.get("article_mode") or "none"),
        "article_ids": [int(v) for v in form.getlist("article_ids") if str(v).isdigit()][:20],
        "search_query": str(form.get("search_query") or "")[:200],
        "cap_hours": number("cap_hours", 24),
    }


PATTERN_ERRORS = {
    "syntax": "pagehelp.error.pattern_syntax",
    "unportable": "pagehelp.error.pattern_unportable",
    "catastrophic": "pagehelp.error.pattern_catastrophic",
    "too_long": "pagehelp.error.pattern_too_long",
    "empty": "pagehelp.error.pattern_empty",
}
NUMBER_ERRORS = {
    "seconds": "pagehelp.error.seconds",
    "cap_hours": "pagehelp.error.cap_hours",
    "article_mode": "pagehelp.error.article_mode",
}


def _numbers_ok(values: dict[str, Any]) -> str | None:
    if not 0 <= values["seconds"] <= 3600:
        return "seconds"
    if not 1 <= values["cap_hours"] <= 8760:
        return "cap_hours"
    if values["article_mode"] not in ("none", "pick", "auto"):
        return "article_mode"
    return None


async def _save(request: Request, ctx: Console, rule_id: int | None):
    form = await request.form()
    values = _form_values(form)
    try:
        bad = _numbers_ok(values)
        if bad:
            raise Invalid(ctx.t(NUMBER_ERRORS[bad]), code="invalid", details={"field": bad})
        if rule_id is None:
            rule = await service.create(
                ctx.session, workspace_id=ctx.workspace_id, created_by=ctx.agent.id, **values
            )
        else:
            rule = await service.update_(
                ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id, **values
            )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        details = exc.details if isinstance(exc.details, dict) else {}
        field = details.get("field")
        error = exc.message
        if field == "pattern":
            error = ctx.t(PATTERN_ERRORS.get(details.get("rule") or "", "pagehelp.error.pattern_syntax"))
        elif field == "name" and exc.status_code == 409:
            error = ctx.t("pagehelp.error.name_taken")
        current = None
        if rule_id is not None:
            current = await service.get(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
        return ctx.render(
            "pagehelp/edit.html",
            {"rule": current, "values": values, "error": error, "error_field": field} | await _choices(ctx),
            status_code=exc.status_code,
        )
    await ctx.session.commit()
    return RedirectResponse(f"/console/page-rules?saved={rule.id}", status_code=303)


def _values_of(rule: PageRule | None) -> dict[str, Any]:
    if rule is None:
        return {**service.defaults(), "name": "", "pattern": "", "message": {"ko": "", "en": ""}}
    return {k: getattr(rule, k) for k in service.FIELDS}


@router.get("/new")
async def new_rule(ctx: Console = Manager):
    return ctx.render(
        "pagehelp/edit.html",
        {"rule": None, "values": _values_of(None), "error": None, "error_field": None} | await _choices(ctx),
    )


@router.post("")
async def create_rule(request: Request, ctx: Console = Manager):
    return await _save(request, ctx, None)


@router.get("/{rule_id}")
async def edit_rule(rule_id: IdPath, ctx: Console = Manager):
    rule = await service.get(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    return ctx.render(
        "pagehelp/edit.html",
        {"rule": rule, "values": _values_of(rule), "error": None, "error_field": None} | await _choices(ctx),
    )


@router.post("/{rule_id}")
async def update_rule(rule_id: IdPath, request: Request, ctx: Console = Manager):
    return await _save(request, ctx, rule_id)


@router.post("/{rule_id}/delete")
async def delete_rule(rule_id: IdPath, ctx: Console = Manager):
    await service.delete(ctx.session, workspace_id=ctx.workspace_id, rule_id=rule_id)
    await ctx.session.commit()
    return RedirectResponse("/console/page-rules", status_code=303)
