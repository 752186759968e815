"""Console: the phone page (전화: callbacks to make, the shared voicemail box, recent calls),
a callback's outcome, and the phone settings (lines, IVR menu editor, announcements)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from sodam.accounts import service as accounts
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.channels import service as inboxes
from sodam.channels.models import ChannelType
from sodam.channels.promise import business_hours
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import Conversation, Status
from sodam.core.errors import AppError, Invalid, NotFound
from sodam.core.params import MAX_ID, IdPath
from sodam.voice import callbacks, ivr, numbers, service, slots, timeline
from sodam.voice.webhook import hook_base

router = APIRouter(include_in_schema=False)
manage_phone = console_access(Permission.phone_manage)
timeline.register()
OPTION_ROWS = 9  # digits 1-9 (0 is always a person)


def _safe_url(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


@router.get("/console/phone")
async def phone_page(ctx: Console = Depends(console)):
    """Callbacks to make, the shared voicemail box and the latest calls."""
    ws = ctx.workspace_id
    upcoming = await callbacks.list_(ctx.session, workspace_id=ws, statuses=["scheduled", "due"], limit=200)
    voicemail = list(
        await ctx.session.scalars(
            select(Conversation)
            .where(
                Conversation.workspace_id == ws,
                Conversation.tags.any("voicemail"),
                Conversation.status != Status.resolved,
            )
            .order_by(Conversation.created_at.desc())
            .limit(100)
        )
    )
    calls = await service.list_calls(ctx.session, workspace_id=ws, limit=30)
    ids = (
        {c.contact_id for c in upcoming}
        | {c.contact_id for c in voicemail}
        | {c.contact_id for c in calls if c.contact_id}
    )
    people = await contacts.get_many(ctx.session, workspace_id=ws, ids=list(ids))
    return ctx.render(
        "voice/phone.html",
        {
            "section": "phone",
            "tab": ctx.request.query_params.get("tab") or "callbacks",
            "upcoming": upcoming,
            "voicemail": voicemail,
            "calls": calls,
            "people": people,
            "display": numbers.display,
            "when": lambda at: callbacks.when_text(at, None, ctx.locale),
        },
    )


@router.get("/console/conversations/{conversation_id}/phone-card")
async def phone_card(
    conversation_id: IdPath,
    message: int = Query(..., ge=1, le=MAX_ID),
    ctx: Console = Depends(console),
):
    """The phone card (a callback task, a voicemail, a caller's number) of one message, as the
    conversation page renders it: console-phone.js asks for it when such a message arrives live."""
    conversation = await conversations.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    found = await conversations.get_messages_by_ids(ctx.session, ids=[message])
    shown = next((m for m in found if m.conversation_id == conversation.id), None)
    if shown is None:
        raise NotFound("message not found", code="message_not_found")
    return ctx.render("voice/_message.html", {"m": shown, "conversation": conversation})


@router.get("/console/phone/callbacks/{callback_id}")
async def callback_page(callback_id: IdPath, ctx: Console = Depends(console), error: str | None = None):
    callback = await callbacks.get(ctx.session, workspace_id=ctx.workspace_id, callback_id=callback_id)
    inbox, line = await service.get_line(
        ctx.session, workspace_id=ctx.workspace_id, inbox_id=callback.inbox_id
    )
    config = business_hours(inbox)
    offered = await slots.offered(ctx.session, line=line, config=config, now=datetime.now(UTC))
    contact = await contacts.get(ctx.session, workspace_id=ctx.workspace_id, contact_id=callback.contact_id)
    return ctx.render(
        "voice/callback.html",
        {
            "section": "phone",
            "callback": callback,
            "contact": contact,
            "inbox": inbox,
            "slots": [
                (s.start.isoformat(), callbacks.when_text(s.start, config, ctx.locale)) for s in offered
            ],
            "display": numbers.display,
            "when": lambda at: callbacks.when_text(at, config, ctx.locale),
            "error": error,
        },
        status_code=409 if error else 200,
    )


@router.post("/console/callbacks/{callback_id}/outcome")
async def callback_outcome(
    callback_id: IdPath,
    ctx: Console = Depends(console),
    outcome: str = Form(...),
    slot_at: str = Form(default=""),
    note: str = Form(default="", max_length=1000),
    back: str = Form(default=""),
):
    await callbacks.get(ctx.session, workspace_id=ctx.workspace_id, callback_id=callback_id)  # 404 first
    agent_id = ctx.agent.id
    try:
        new_slot = datetime.fromisoformat(slot_at) if slot_at else None
        async with ctx.session.begin_nested():  # a refusal leaves nothing half-done
            callback = await callbacks.record_outcome(
                ctx.session,
                workspace_id=ctx.workspace_id,
                callback_id=callback_id,
                outcome=outcome,
                agent_id=agent_id,
                note=note,
                new_slot_at=new_slot,
            )
    except (AppError, ValueError) as exc:
        code = getattr(exc, "code", "invalid_slot")
        return await callback_page(callback_id, ctx, error=ctx.t(f"voice.outcome_error.{code}"))
    await ctx.session.commit()
    target = (
        back
        if back.startswith("/console/") and "//" not in back
        else f"/console/phone/callbacks/{callback.id}"
    )
    return RedirectResponse(target, status_code=303)


# ---- settings ---------------------------------------------------------------------------------
@router.get("/console/settings/phone")
async def settings_page(ctx: Console = Depends(manage_phone)):
    lines = await service.list_lines(ctx.session, workspace_id=ctx.workspace_id)
    widget_inboxes = [
        i
        for i in await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)
        if i.channel_type == ChannelType.web_widget
    ]
    await ctx.session.commit()  # lines made on first sight
    return ctx.render(
        "voice/settings.html",
        {
            "section": "settings",
            "lines": lines,
            "widget_inboxes": widget_inboxes,
            "announcements": await service.list_announcements(ctx.session, workspace_id=ctx.workspace_id),
            "display": numbers.display,
        },
    )


@router.post("/console/settings/phone/lines")
async def create_line(ctx: Console = Depends(manage_phone), name: str = Form(..., max_length=200)):
    inbox = await inboxes.create(
        ctx.session,
        workspace_id=ctx.workspace_id,
        name=name.strip()[:200] or "전화",
        channel_type=ChannelType.phone,
        settings=dict(service.QUIET_INBOX),
    )
    await service.line_of(ctx.session, inbox=inbox)
    await ctx.session.commit()
    return RedirectResponse(f"/console/settings/phone/{inbox.id}", status_code=303)


@router.post("/console/settings/phone/widget")
async def set_widget_callbacks(request: Request, ctx: Console = Depends(manage_phone)):
    """Which phone inbox each widget inbox books callbacks for (none: no 전화 예약 button)."""
    form = await request.form()
    lines = {inbox.id for inbox, _ in await service.list_lines(ctx.session, workspace_id=ctx.workspace_id)}
    for inbox in await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id):
        if inbox.channel_type != ChannelType.web_widget:
            continue
        raw = str(form.get(f"callback_{inbox.id}") or "")
        value = int(raw) if raw.isdigit() and int(raw) in lines else None
        await inboxes.update(
            ctx.session,
            workspace_id=ctx.workspace_id,
            inbox_id=inbox.id,
            settings={"callback_inbox_id": value},
        )
    await ctx.session.commit()
    return RedirectResponse("/console/settings/phone?saved=1", status_code=303)


@router.post("/console/settings/phone/announcements")
async def create_announcement(
    ctx: Console = Depends(manage_phone),
    text_ko: str = Form(default="", max_length=600),
    text_en: str = Form(default="", max_length=600),
):
    try:
        await service.create_announcement(
            ctx.session, workspace_id=ctx.workspace_id, text_ko=text_ko, text_en=text_en
        )
    except Invalid:
        return RedirectResponse("/console/settings/phone?error=announcement", status_code=303)
    await ctx.session.commit()
    return RedirectResponse("/console/settings/phone", status_code=303)


@router.post("/console/settings/phone/announcements/{announcement_id}")
async def change_announcement(
    announcement_id: IdPath, ctx: Console = Depends(manage_phone), action: str = Form(...)
):
    if action == "delete":
        await service.delete_announcement(
            ctx.session, workspace_id=ctx.workspace_id, announcement_id=announcement_id
        )
    else:
        await service.update_announcement(
            ctx.session,
            workspace_id=ctx.workspace_id,
            announcement_id=announcement_id,
            changes={"active": action == "activate"},
        )
    await ctx.session.commit()
    return RedirectResponse("/console/settings/phone", status_code=303)


def _where(ctx: Console, field: str) -> str:
    """'nodes.main.options.1.node' → '메뉴 main · 1: ' (where the editor shows it)."""
    parts = field.split(".")
    if len(parts) < 2 or parts[0] != "nodes":
        return ""
    where = f"{ctx.t('voice.ivr.menu')} {parts[1]}"
    if len(parts) >= 4 and parts[2] == "options":
        where += f" · {ctx.t('voice.ivr.digit')} {parts[3]}"
    return where + ": "


def _editor_nodes(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The tree as the editor's rows: every node, then one blank node to add."""
    nodes = []
    for node_id, node in (tree.get("nodes") or {}).items():
        options = [{"digit": d, **o} for d, o in sorted((node.get("options") or {}).items()) if d != "0"]
        nodes.append({"id": node_id, "prompt": node.get("prompt") or {}, "options": options})
    nodes.append({"id": "", "prompt": {}, "options": []})
    for node in nodes:
        used = {o["digit"] for o in node["options"]}
        free = [d for d in "123456789" if d not in used]
        node["options"] += [{"digit": d, "action": ""} for d in free[:2]]
    return nodes


def tree_from_form(form) -> dict[str, Any]:
    """The editor's fields as a tree (checked by the service)."""
    nodes: dict[str, Any] = {}
    for i in range(min(int(form.get("node_count") or 0), ivr.MAX_NODES + 1)):
        node_id = str(form.get(f"node_{i}_id") or "").strip()
        prompt = {lang: str(form.get(f"node_{i}_prompt_{lang}") or "").strip() for lang in ("ko", "en")}
        if not node_id and not any(prompt.values()):
            continue
        options: dict[str, Any] = {}
        for j in range(min(int(form.get(f"node_{i}_rows") or 0), OPTION_ROWS)):
            key = f"node_{i}_opt_{j}"
            action = str(form.get(f"{key}_action") or "")
            digit = str(form.get(f"{key}_digit") or "")
            if not action:
                continue
            target = str(form.get(f"{key}_target") or "").strip()
            option: dict[str, Any] = {"action": action}
            if action == "menu":
                option["node"] = target
            elif action == "forward":
                option["number"] = target
            elif action in ("queue", "person") and str(form.get(f"{key}_team") or "").isdigit():
                option["team_id"] = int(form.get(f"{key}_team"))
            elif action == "announcement":
                option["text"] = {lang: str(form.get(f"{key}_{lang}") or "").strip() for lang in ("ko", "en")}
            options[digit] = option
        nodes[node_id] = {"prompt": prompt, "options": options}
    return {"root": str(form.get("root") or "").strip(), "nodes": nodes}


async def _line_page(ctx: Console, inbox_id: int, *, tree=None, problems=None, saved=False, error=None):
    inbox, line = await service.get_line(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    teams = await accounts.list_teams(ctx.session, workspace_id=ctx.workspace_id)
    base = hook_base(ctx.request, inbox.public_token)
    shown = tree if tree is not None else ivr.tree_of(line.ivr)
    return ctx.render(
        "voice/line.html",
        {
            "section": "settings",
            "inbox": inbox,
            "line": line,
            "teams": teams,
            "tree": shown,
            "nodes": _editor_nodes(shown),
            "actions": [a for a in ivr.ACTIONS],
            "problems": problems or [],
            "saved": saved,
            "error": error,
            "webhook_url": f"{base}/incoming",
            "status_url": f"{base}/status",
            "display": numbers.display,
        },
        status_code=422 if (problems or error) else 200,
    )


@router.get("/console/settings/phone/{inbox_id}")
async def line_page(inbox_id: IdPath, ctx: Console = Depends(manage_phone)):
    response = await _line_page(ctx, inbox_id, saved=bool(ctx.request.query_params.get("saved")))
    await ctx.session.commit()
    return response


@router.post("/console/settings/phone/{inbox_id}")
async def save_line(inbox_id: IdPath, request: Request, ctx: Console = Depends(manage_phone)):
    form = await request.form()
    tree = tree_from_form(form)
    per_slot = str(form.get("callbacks_per_slot") or "").strip()
    team = str(form.get("team_id") or "")
    changes: dict[str, Any] = {
        "ivr": tree,
        "number": str(form.get("number") or "").strip() or None,
        "team_id": int(team) if team.isdigit() else None,
        "callbacks_per_slot": int(per_slot) if per_slot.isdigit() else None,
    }
    if str(form.get("auth_token") or "").strip():
        changes["auth_token"] = str(form.get("auth_token")).strip()
    await service.get_line(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)  # 404 first
    try:
        async with ctx.session.begin_nested():  # a refused menu changes nothing
            await service.save_line(
                ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id, changes=changes
            )
    except AppError as exc:
        problems = [
            f"{_where(ctx, p.get('field', ''))}{ctx.t('voice.ivr_error.' + p.get('code', 'invalid'))}"
            for p in ((exc.details or {}).get("problems") or [])
        ] or [ctx.t(f"voice.ivr_error.{exc.code}")]
        return await _line_page(ctx, inbox_id, tree=ivr.check(tree)[0] or tree, problems=problems)
    await ctx.session.commit()
    return RedirectResponse(f"/console/settings/phone/{inbox_id}?saved=1", status_code=303)
