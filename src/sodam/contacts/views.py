"""Console: contacts list, one contact, and editing a contact's basic fields."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query

from sodam.accounts.sessions import Console, console
from sodam.audit import service as audit
from sodam.contacts import service
from sodam.conversations import service as conversations
from sodam.core.errors import Invalid
from sodam.core.params import IdPath

router = APIRouter(prefix="/console/contacts", include_in_schema=False)

LANGUAGES = ("", "ko", "en")


@router.get("")
async def contacts_page(q: str | None = Query(default=None, max_length=200), ctx: Console = Depends(console)):
    people = await service.list_(ctx.session, workspace_id=ctx.workspace_id, query=(q or "").strip() or None)
    counts = await conversations.counts(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    await audit.record(
        ctx.session,
        action="contact.listed",
        target_type="contact",
        details={"contact_ids": [c.id for c in people], "searched": bool((q or "").strip())},
    )
    return ctx.render(
        "console/contacts.html",
        {"section": "contacts", "contacts": people, "q": q or "", "open_count": counts["mine"]},
    )


@router.get("/{contact_id}")
async def contact_page(contact_id: IdPath, ctx: Console = Depends(console)):
    contact = await service.get(ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id)
    past = await conversations.list_(
        ctx.session, workspace_id=ctx.workspace_id, contact_id=contact.id, status=None, limit=50
    )
    counts = await conversations.counts(ctx.session, workspace_id=ctx.workspace_id, agent_id=ctx.agent.id)
    await audit.record(ctx.session, action="contact.read", target_type="contact", target_id=contact.id)
    return ctx.render(
        "console/contact.html",
        {
            "section": "contacts",
            "contact": contact,
            "past_conversations": past,
            "languages": LANGUAGES,
            "open_count": counts["mine"],
        },
    )


@router.post("/{contact_id}")
async def update_contact(
    contact_id: IdPath,
    name: str = Form(default=""),
    email: str = Form(default=""),
    phone: str = Form(default=""),
    company: str = Form(default=""),
    language: str = Form(default=""),
    ctx: Console = Depends(console),
):
    """Edit name, e-mail, phone, company and language; returns the contact panel."""
    if language not in LANGUAGES:
        raise Invalid(ctx.t("console.error.invalid_language"), code="invalid_language")
    email = email.strip()
    if email and ("@" not in email or len(email) > 320):
        raise Invalid(ctx.t("console.error.invalid_email"), code="invalid_email")
    contact = await service.update(
        ctx.session,
        workspace_id=ctx.workspace_id,
        contact_id=contact_id,
        name=name.strip()[:200] or None,
        email=email or None,
        phone=phone.strip()[:40] or None,
        company=company.strip()[:200] or None,
        language=language or None,
    )
    await ctx.session.commit()
    return ctx.render(
        "console/_contact_panel.html", {"contact": contact, "languages": LANGUAGES, "saved": True}
    )
