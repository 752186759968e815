"""Console: export / erase a contact and the privacy settings page; public: the privacy page
customers read (/help/{workspace slug}/privacy)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.accounts import service as accounts
from sodam.accounts.models import Role
from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.core.deps import get_session
from sodam.core.errors import Invalid
from sodam.core.i18n import LOCALES, gettext, negotiate
from sodam.core.pagination import MAX_ID
from sodam.core.templating import render
from sodam.knowledge.helpcenter import HelpCenterMissing
from sodam.privacy import service
from sodam.privacy.api import download
from sodam.privacy.models import RETENTION_ACTIONS

console_router = APIRouter(prefix="/console", include_in_schema=False)
public_router = APIRouter(prefix="/help", include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
manage_privacy = console_access(Permission.privacy_manage)
RETENTION_CHOICES = (1, 3, 6, 12, 24, 36, 60)


@console_router.get("/contacts/{contact_id}/export")
async def export_contact(contact_id: Id, include_notes: bool = False, ctx: Console = Depends(manage_privacy)):
    """The contact's data as one JSON file (privacy.manage)."""
    document = await service.export_contact(
        ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id, include_notes=include_notes
    )
    return download(document, contact_id)


@console_router.post("/contacts/{contact_id}/erase")
async def erase_contact(contact_id: Id, ctx: Console = Depends(manage_privacy)):
    """Erase the contact's personal data (privacy.manage); the page reloads to show the redacted view."""
    await service.erase_contact(ctx.session, workspace_id=ctx.workspace_id, contact_id=contact_id)
    await ctx.session.commit()
    if ctx.is_htmx:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return RedirectResponse(f"/console/contacts/{contact_id}?erased=1", status_code=303)


async def _settings_page(
    ctx: Console, *, saved: bool = False, error: str | None = None, status_code: int = 200
):
    workspace = await accounts.get_workspace(ctx.session, workspace_id=ctx.workspace_id)
    settings = await service.get_settings(ctx.session, workspace_id=ctx.workspace_id)
    return ctx.render(
        "privacy/settings.html",
        {
            "section": "settings",
            "settings": settings,
            "choices": RETENTION_CHOICES,
            "actions": RETENTION_ACTIONS,
            "workspace": workspace,
            "saved": saved,
            "error": error,
        },
        status_code=status_code,
    )


@console_router.get("/settings/privacy")
async def privacy_settings(ctx: Console = Depends(manage_privacy)):
    return await _settings_page(ctx)


@console_router.post("/settings/privacy")
async def save_privacy_settings(
    retention_months: Annotated[str, Form()] = "",
    retention_action: Annotated[str, Form()] = "anonymise",
    contact_email: Annotated[str, Form(max_length=320)] = "",
    ctx: Console = Depends(manage_privacy),
):
    """Save retention (off or N months; delete or anonymise) and the requests address."""
    months = int(retention_months) if retention_months.isdigit() else None
    email = contact_email.strip()
    if (retention_months and months is None) or (months is not None and not 1 <= months <= 120):
        return await _settings_page(ctx, error=ctx.t("privacy.settings.invalid_months"), status_code=422)
    if retention_action not in RETENTION_ACTIONS:
        raise Invalid(ctx.t("privacy.settings.invalid_months"), code="invalid_retention")
    if email and ("@" not in email or any(c.isspace() for c in email)):
        return await _settings_page(ctx, error=ctx.t("console.error.invalid_email"), status_code=422)
    await service.update_settings(
        ctx.session,
        workspace_id=ctx.workspace_id,
        retention_months=months,
        retention_action=retention_action,
        contact_email=email or None,
    )
    return await _settings_page(ctx, saved=True)


def _public_locale(request: Request) -> str:
    for key in ("locale", "lang"):
        value = request.query_params.get(key)
        if value in LOCALES:
            return value
    return negotiate(request.headers.get("accept-language"))


@public_router.get("/{slug}/privacy")
async def privacy_page(
    request: Request, slug: str, session: Session, locale: Annotated[str | None, Query(max_length=8)] = None
):
    """What is stored about a visitor, for how long, who can see it, and how to ask for it."""
    lang = _public_locale(request)
    workspace = await accounts.get_workspace_by_slug(session, slug=slug[:80])
    if workspace is None:
        raise HelpCenterMissing(gettext(lang, "help.error.not_found"))
    page = await service.public_page(session, workspace_id=workspace.id)
    other = "en" if lang == "ko" else "ko"
    return render(
        request,
        "privacy/public.html",
        {
            "workspace": workspace,
            "base": f"/help/{workspace.slug}",
            "lang_query": f"lang={lang}",
            "other_locale": other,
            "settings": page["settings"],
            "tokens": page["tokens"],
            "roles": [r.value for r in Role],
        },
        locale=lang,
    )
