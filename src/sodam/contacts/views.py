"""Console: contacts list, one contact, and editing a contact's fields, company and typed
attributes (the merge screens are in views_merge.py, import/export in views_data.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from sodam.accounts.sessions import Console, console
from sodam.audit import service as audit
from sodam.contacts import attributes, merge
from sodam.contacts import service as service
from sodam.contacts.models import Contact
from sodam.conversations import service as conversations
from sodam.core.errors import AppError, Invalid
from sodam.core.params import IdPath

router = APIRouter(prefix="/console/contacts", include_in_schema=False)

LANGUAGES = ("", "ko", "en")
CURRENCIES = ("KRW", "USD", "EUR", "JPY", "CNY")


async def panel_context(ctx: Console, contact: Contact, **extra: Any) -> dict[str, Any]:
    """What the contact card shows: its fields, its typed attributes with their inputs, the
    attributes without a definition as plain text."""
    definitions = await attributes.definitions(ctx.session, workspace_id=ctx.workspace_id)
    values = contact.custom_attributes or {}
    typed = []
    for key, defn in definitions.items():
        value = values.get(key)
        typed.append(
            {
                "key": key,
                "label": defn.label,
                "type": defn.type,
                "options": defn.options,
                "value": value,
                "amount": value.get("amount")
                if isinstance(value, dict)
                else (value if defn.type == "money" else None),
                "currency": (value.get("currency") if isinstance(value, dict) else None) or defn.currency,
                "shown": attributes.display(defn, value),
            }
        )
    free = [
        {"key": k, "shown": attributes.display(None, v)}
        for k, v in sorted(values.items())
        if k not in definitions and v not in (None, "")
    ]
    return {
        "contact": contact,
        "languages": LANGUAGES,
        "attribute_rows": typed,
        "free_attributes": free,
        "currencies": CURRENCIES,
        **extra,
    }


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
    undoable = await merge.latest_for(ctx.session, workspace_id=ctx.workspace_id, winner_id=contact.id)
    await audit.record(ctx.session, action="contact.read", target_type="contact", target_id=contact.id)
    return ctx.render(
        "console/contact.html",
        await panel_context(
            ctx,
            contact,
            section="contacts",
            past_conversations=past,
            open_count=counts["mine"],
            undoable_merge=undoable,
            undone=ctx.request.query_params.get("undone") == "1",
            undo_failed=ctx.request.query_params.get("undo_failed")
            in ("merge_expired", "merge_undone", "contact_exists", "winner_gone")
            and ctx.request.query_params.get("undo_failed"),
        ),
    )


def _typed_values(form, rows: dict[str, Any]) -> dict[str, Any]:
    """attr.<key> (and attr_currency.<key> for money) from the card's form; empty clears."""
    out: dict[str, Any] = {}
    for key, defn in rows.items():
        field = f"attr.{key}"
        if field not in form:
            continue
        raw = str(form.get(field) or "").strip()
        if defn.type == "money" and raw:
            out[key] = {"amount": raw, "currency": str(form.get(f"attr_currency.{key}") or defn.currency)}
        else:
            out[key] = raw or None
    return out


@router.post("/{contact_id}")
async def update_contact(contact_id: IdPath, request: Request, ctx: Console = Depends(console)):
    """Edit the card: name, e-mail, phone, company (found or created by name), language and
    typed attributes; returns the card, with the error in place when a value is refused."""
    form = await request.form()
    text = lambda name: str(form.get(name) or "").strip()  # noqa: E731
    language = text("language")
    contact = await service.get(ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id)
    try:
        if language not in LANGUAGES:
            raise Invalid(ctx.t("console.error.invalid_language"), code="invalid_language")
        email = text("email")
        if email and ("@" not in email or len(email) > 320):
            raise Invalid(ctx.t("console.error.invalid_email"), code="invalid_email")
        definitions = await attributes.definitions(ctx.session, workspace_id=ctx.workspace_id)
        async with ctx.session.begin_nested():
            contact = await service.update(
                ctx.session,
                workspace_id=ctx.workspace_id,
                contact_id=contact_id,
                name=text("name")[:200] or None,
                email=email or None,
                phone=text("phone")[:40] or None,
                company=text("company")[:200] or None,
                language=language or None,
                custom_attributes=_typed_values(form, definitions),
            )
        await ctx.session.commit()
    except AppError as exc:
        # The savepoint is rolled back; read the card again as stored.
        contact = await service.get(ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id)
        return ctx.render(
            "console/_contact_panel.html",
            await panel_context(ctx, contact, error=_error_text(ctx, exc)),
            status_code=exc.status_code,  # console.js swaps 4xx forms in place
        )
    await ctx.session.refresh(contact)
    return ctx.render("console/_contact_panel.html", await panel_context(ctx, contact, saved=True))


def _error_text(ctx: Console, exc: AppError) -> str:
    """An error in the agent's language where we have the words, with the attribute named."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if exc.code == "contact_exists":
        key = (
            "contacts.error.email_taken" if details.get("field") == "email" else "contacts.error.phone_taken"
        )
        return ctx.t(key, id=details.get("contact_id"))
    if exc.code == "invalid_attribute":
        return ctx.t(f"contacts.error.attribute_{details.get('type')}", name=details.get("attribute"))
    return exc.message
