"""Console: SLA policies (설정 → SLA), for 매니저 and admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from sodam.accounts.permissions import Permission
from sodam.accounts.sessions import Console, console_access
from sodam.channels import service as inboxes
from sodam.core.errors import AppError
from sodam.core.params import IdPath
from sodam.sla import service
from sodam.sla.schemas import MAX_TARGET_S

router = APIRouter(prefix="/console/settings/sla", include_in_schema=False)
manage_sla = console_access(Permission.sla_manage)
BLANK_ROWS = 3
# The editor's units: minutes for the response targets, hours for resolution.
UNITS = {"first_response": 60, "next_response": 60, "resolution": 3600}


def _form_rows(policy) -> list[dict[str, str]]:
    rows = []
    for row in policy.targets if policy else []:
        cells = {"tier": row["tier"], "priority": row["priority"]}
        for kind, unit in UNITS.items():
            value = row.get(f"{kind}_s")
            cells[kind] = "" if value is None else f"{value / unit:g}"
        rows.append(cells)
    return rows + [{"tier": "", "priority": "*", **dict.fromkeys(UNITS, "")} for _ in range(BLANK_ROWS)]


def _targets_from_form(ctx: Console, form) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[str]]:
    """(targets in seconds, the rows as typed, errors)."""
    targets, typed, errors = [], [], []
    count = min(int(form.get("rows") or 0), 100)
    for i in range(count):
        cells = {key: str(form.get(f"{key}_{i}") or "").strip() for key in ("tier", "priority", *UNITS)}
        typed.append(cells)
        if not cells["tier"] and not any(cells[k] for k in UNITS):
            continue  # a blank row
        row: dict[str, Any] = {"tier": cells["tier"] or "*", "priority": cells["priority"] or "*"}
        for kind, unit in UNITS.items():
            text = cells[kind].replace(",", ".")
            if not text:
                row[f"{kind}_s"] = None
                continue
            try:
                seconds = round(float(text) * unit)
            except ValueError:
                seconds = -1
            if not (60 <= seconds <= MAX_TARGET_S):
                errors.append(
                    ctx.t("sla.error.target", row=i + 1, kind=ctx.t(f"sla.kind.{kind}"), value=cells[kind])
                )
            row[f"{kind}_s"] = seconds
        if all(row[f"{k}_s"] is None for k in UNITS):
            errors.append(ctx.t("sla.error.empty_row", row=i + 1))
        targets.append(row)
    return targets, typed, errors


async def _edit_page(ctx: Console, policy, *, rows=None, values=None, errors=None, saved=False):
    inbox_list = await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)
    values = values or {
        "name": policy.name if policy else "",
        "is_default": bool(policy and policy.is_default),
        "business_hours": policy.business_hours if policy else True,
        "inbox_ids": list(policy.inbox_ids or []) if policy else [],
    }
    return ctx.render(
        "sla/edit.html",
        {
            "section": "settings",
            "policy": policy,
            "values": values,
            "rows": rows if rows is not None else _form_rows(policy),
            "inboxes": inbox_list,
            "priorities": service.PRIORITIES,
            "kinds": list(UNITS),
            "errors": errors or [],
            "saved": saved,
        },
        status_code=422 if errors else 200,
    )


@router.get("")
async def policies_page(ctx: Console = Depends(manage_sla)):
    """The workspace's policies and their targets at a glance."""
    policies = await service.list_(ctx.session, workspace_id=ctx.workspace_id)
    inbox_names = {i.id: i.name for i in await inboxes.list_(ctx.session, workspace_id=ctx.workspace_id)}
    return ctx.render(
        "sla/policies.html",
        {"section": "settings", "policies": policies, "inbox_names": inbox_names, "units": UNITS},
    )


@router.get("/new")
async def new_policy(ctx: Console = Depends(manage_sla)):
    return await _edit_page(ctx, None)


@router.get("/{policy_id}")
async def edit_policy(policy_id: IdPath, ctx: Console = Depends(manage_sla)):
    policy = await service.get(ctx.session, workspace_id=ctx.workspace_id, policy_id=policy_id)
    return await _edit_page(ctx, policy, saved=bool(ctx.request.query_params.get("saved")))


async def _save(ctx: Console, request: Request, policy_id: int | None):
    form = await request.form()
    policy = (
        await service.get(ctx.session, workspace_id=ctx.workspace_id, policy_id=policy_id)
        if policy_id
        else None
    )
    targets, typed, errors = _targets_from_form(ctx, form)
    values = {
        "name": "".join(ch for ch in str(form.get("name") or "") if ch >= " " and ch != "\x7f").strip(),
        "is_default": form.get("is_default") in ("1", "on"),
        "business_hours": form.get("measure") != "calendar",
        "inbox_ids": [int(v) for v in form.getlist("inbox_ids") if str(v).isdigit()],
    }
    if not values["name"]:
        errors.insert(0, ctx.t("sla.error.name"))
    if errors:
        return await _edit_page(ctx, policy, rows=typed, values=values, errors=errors)
    try:
        service.clean_targets(targets)  # duplicates refused before anything changes
        if policy is None:
            policy = await service.create(
                ctx.session, workspace_id=ctx.workspace_id, targets=targets, **values
            )
        else:
            policy = await service.update_(
                ctx.session,
                workspace_id=ctx.workspace_id,
                policy_id=policy.id,
                changes={**values, "targets": targets},
            )
    except AppError as exc:
        key = {
            "sla_policy_name_taken": "sla.error.name_taken",
            "duplicate_target": "sla.error.duplicate",
            "not_found": "sla.error.inbox",
        }.get(exc.code, "sla.error.invalid")
        # Nothing is committed: the request's transaction ends without it.
        return await _edit_page(ctx, policy, rows=typed, values=values, errors=[ctx.t(key)])
    await ctx.session.commit()
    return RedirectResponse(f"/console/settings/sla/{policy.id}?saved=1", status_code=303)


@router.post("")
async def create_policy(request: Request, ctx: Console = Depends(manage_sla)):
    return await _save(ctx, request, None)


@router.post("/{policy_id}")
async def save_policy(policy_id: IdPath, request: Request, ctx: Console = Depends(manage_sla)):
    return await _save(ctx, request, policy_id)


@router.post("/{policy_id}/delete")
async def delete_policy(policy_id: IdPath, ctx: Console = Depends(manage_sla)):
    await service.delete(ctx.session, workspace_id=ctx.workspace_id, policy_id=policy_id)
    await ctx.session.commit()
    return RedirectResponse("/console/settings/sla", status_code=303)
