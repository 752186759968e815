"""Console: an e-mail inbox's settings, and a received mail's original (sanitised) HTML."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console, console_access
from sodam.channels import service as inboxes
from sodam.conversations import service as conversations
from sodam.conversations.models import Message, SenderType
from sodam.core.errors import AppError, NotFound
from sodam.core.params import MAX_ID, IdPath
from sodam.mail import service

router = APIRouter(include_in_schema=False)
manage_inboxes = console_access(Permission.inboxes_manage)

ERROR_KEYS = {
    "invalid_email": "mail.error.invalid_email",
    "address_taken": "mail.error.address_taken",
    "invalid_smtp_port": "mail.error.port",
    "not_email_inbox": "mail.settings.not_email",
}
# The original mail is shown in a sandboxed frame; the page itself runs nothing and loads
# nothing from elsewhere either.
ORIGINAL_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def _page(ctx: Console, inbox, config, *, error: str | None = None, saved: bool = False, form=None):
    return ctx.render(
        "mail/settings.html",
        {
            "section": "settings",
            "inbox": inbox,
            "config": config,
            "error": error,
            "saved": saved,
            "form": form,
        },
        status_code=422 if error else 200,
    )


@router.get("/console/settings/inboxes/{inbox_id}/mail")
async def mail_settings(inbox_id: IdPath, ctx: Console = Depends(manage_inboxes)):
    inbox = await service.email_inbox(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    config = await service.get_config(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    return _page(ctx, inbox, config)


@router.post("/console/settings/inboxes/{inbox_id}/mail")
async def save_mail_settings(
    inbox_id: IdPath,
    address: str = Form(default="", max_length=320),
    smtp_host: str = Form(default="", max_length=255),
    smtp_port: str = Form(default="587", max_length=10),
    smtp_security: str = Form(default="starttls", max_length=10),
    smtp_username: str = Form(default="", max_length=320),
    smtp_password: str = Form(default="", max_length=500),
    clear_password: str | None = Form(default=None),
    reply_to: str = Form(default="", max_length=320),
    signature_ko: str = Form(default="", max_length=2000),
    signature_en: str = Form(default="", max_length=2000),
    bot_enabled: str | None = Form(default=None),
    imap_host: str = Form(default="", max_length=255),
    imap_port: str = Form(default="993", max_length=10),
    imap_security: str = Form(default="tls", max_length=10),
    imap_username: str = Form(default="", max_length=320),
    imap_password: str = Form(default="", max_length=500),
    imap_folder: str = Form(default="INBOX", max_length=200),
    ctx: Console = Depends(manage_inboxes),
):
    """Save an e-mail inbox's settings; invalid input re-renders the form with the error."""
    inbox = await service.email_inbox(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    form = {
        "address": address,
        "smtp_host": smtp_host,
        "smtp_port": smtp_port,
        "smtp_security": smtp_security,
        "smtp_username": smtp_username,
        "reply_to": reply_to,
        "signature_ko": signature_ko,
        "signature_en": signature_en,
        "imap_host": imap_host,
        "imap_port": imap_port,
        "imap_security": imap_security,
        "imap_username": imap_username,
        "imap_folder": imap_folder,
    }
    config = await service.get_config(ctx.session, workspace_id=ctx.workspace_id, inbox_id=inbox_id)
    try:
        port = int(smtp_port.strip() or "587")
        async with ctx.session.begin_nested():
            config = await service.set_config(
                ctx.session,
                workspace_id=ctx.workspace_id,
                inbox_id=inbox_id,
                address=address,
                smtp_host=smtp_host.strip(),
                smtp_port=port,
                smtp_security=smtp_security,
                smtp_username=smtp_username.strip(),
                # Blank keeps the stored password; the box clears it.
                smtp_password="" if clear_password else (smtp_password or None),
                reply_to=reply_to.strip(),
                signature_ko=signature_ko.replace("\r\n", "\n"),
                signature_en=signature_en.replace("\r\n", "\n"),
                imap_host=imap_host.strip(),
                imap_port=int(imap_port.strip() or "993"),
                imap_security=imap_security,
                imap_username=imap_username.strip(),
                imap_password=imap_password or None,
                imap_folder=imap_folder.strip() or "INBOX",
            )
    except ValueError:
        return _page(ctx, inbox, config, error=ctx.t("mail.error.port"), form=form)
    except AppError as exc:
        key = ERROR_KEYS.get(exc.code)
        return _page(ctx, inbox, config, error=ctx.t(key) if key else exc.message, form=form)
    inbox = await inboxes.update(
        ctx.session,
        workspace_id=ctx.workspace_id,
        inbox_id=inbox_id,
        settings={"bot_enabled": bot_enabled is not None},
    )
    await ctx.session.commit()
    return _page(ctx, inbox, config, saved=True)


@router.get("/console/conversations/{conversation_id}/original")
async def original(
    conversation_id: IdPath,
    message: int = Query(..., ge=1, le=MAX_ID),
    ctx: Console = Depends(console),
):
    """A received mail as its sender wrote it: the sanitised HTML in a sandboxed frame."""
    conversation = await conversations.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    found = await conversations.get_messages_by_ids(ctx.session, ids=[message])
    shown = next((m for m in found if m.conversation_id == conversation.id), None)
    mail = ((shown.payload or {}).get("mail") or {}) if shown else {}
    if shown is None or mail.get("direction") != "in":
        raise NotFound("mail not found", code="mail_not_found")
    response = ctx.render(
        "mail/original.html", {"conversation": conversation, "message": shown, "mail": mail}
    )
    response.headers["Content-Security-Policy"] = ORIGINAL_CSP
    return response


@router.get("/console/conversations/{conversation_id}/deliveries")
async def deliveries(conversation_id: IdPath, ctx: Console = Depends(console)) -> JSONResponse:
    """The delivery state of the answers of an e-mail conversation (console-mail.js asks while
    one is still being sent)."""
    conversation = await conversations.get(
        ctx.session, workspace_id=ctx.workspace_id, conversation_id=conversation_id
    )
    rows = await ctx.session.execute(
        select(Message.id, Message.payload["mail"]["delivery"])
        .where(
            Message.conversation_id == conversation.id,
            Message.workspace_id == ctx.workspace_id,
            Message.sender_type.in_((SenderType.agent, SenderType.bot)),
        )
        .order_by(Message.seq.desc())
        .limit(200)
    )
    out = {
        str(mid): {k: d.get(k) for k in ("status", "attempts", "error")}
        for mid, d in rows
        if isinstance(d, dict)
    }
    return JSONResponse({"conversation_id": conversation.id, "deliveries": out})
