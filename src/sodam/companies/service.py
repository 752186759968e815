"""Companies. Services never commit: callers own the transaction.

A contact points at one company (`contacts.company_id`, its name mirrored in
`contacts.company`); the contacts service keeps that link, this one owns the rows.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sodam.companies.models import Company
from sodam.contacts import attributes
from sodam.core.errors import Conflict, Invalid, NotFound

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def clean_domain(raw: str | None) -> str | None:
    """A bare lowercase host name ("https://www.Sodam.kr/x" -> "sodam.kr"), or 422."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    value = re.sub(r"^[a-z]+://", "", value).split("/")[0].split("@")[-1]
    if value.startswith("www."):
        value = value[4:]
    try:
        value = value.encode("idna").decode("ascii")  # 한글 도메인 -> punycode
    except UnicodeError as exc:
        raise Invalid("domain is not a valid host name", code="invalid_domain") from exc
    if not DOMAIN_RE.match(value):
        raise Invalid("domain is not a valid host name", code="invalid_domain", details={"domain": raw})
    return value


async def get(session: AsyncSession, *, workspace_id: int, company_id: int) -> Company:
    row = await session.scalar(
        select(Company).where(Company.workspace_id == workspace_id, Company.id == company_id)
    )
    if row is None:
        raise NotFound("company not found")
    return row


async def by_domain(session: AsyncSession, *, workspace_id: int, domain: str) -> Company | None:
    return await session.scalar(
        select(Company).where(
            Company.workspace_id == workspace_id, func.lower(Company.domain) == domain.lower()
        )
    )


async def by_name(session: AsyncSession, *, workspace_id: int, name: str) -> Company | None:
    """The oldest company of this name (names need not be unique; domains are)."""
    return await session.scalar(
        select(Company)
        .where(Company.workspace_id == workspace_id, func.lower(Company.name) == name.strip().lower())
        .order_by(Company.id)
        .limit(1)
    )


async def list_(
    session: AsyncSession,
    *,
    workspace_id: int,
    query: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Company]:
    """Companies of a workspace, newest first, optionally matching name or domain."""
    stmt = select(Company).where(Company.workspace_id == workspace_id)
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(Company.name.ilike(like), Company.domain.ilike(like)))
    if after_id is not None:
        stmt = stmt.where(Company.id < after_id)
    return list(await session.scalars(stmt.order_by(Company.id.desc()).limit(limit)))


async def _lock(session: AsyncSession, workspace_id: int) -> None:
    # Two requests creating "the same" company at once (by name or domain) make one.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"companies:{workspace_id}"}
    )


async def _check_domain_free(
    session, *, workspace_id: int, domain: str | None, company_id: int | None = None
):
    if domain is None:
        return
    other = await by_domain(session, workspace_id=workspace_id, domain=domain)
    if other is not None and other.id != company_id:
        raise Conflict(
            f"another company has the domain {domain}",
            code="company_domain_taken",
            details={"company_id": other.id, "domain": domain},
        )


async def create(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    domain: str | None = None,
    plan: str | None = None,
    custom_attributes: dict[str, Any] | None = None,
) -> Company:
    """A new company (409 company_domain_taken when its domain belongs to another)."""
    name = (name or "").strip()[:200]
    if not name:
        raise Invalid("name is required", code="invalid_name")
    domain = clean_domain(domain)
    await _lock(session, workspace_id)
    await _check_domain_free(session, workspace_id=workspace_id, domain=domain)
    values = await attributes.validate(
        session, workspace_id=workspace_id, values=custom_attributes, applies_to="company"
    )
    row = Company(
        workspace_id=workspace_id,
        name=name,
        domain=domain,
        plan=(plan or "").strip()[:60] or None,
        custom_attributes={k: v for k, v in values.items() if v is not None},
    )
    session.add(row)
    await session.flush()
    return row


async def update(session: AsyncSession, *, workspace_id: int, company_id: int, **fields: Any) -> Company:
    """Change the fields sent (custom_attributes merged key by key; null removes a key)."""
    row = await get(session, workspace_id=workspace_id, company_id=company_id)
    if "name" in fields and fields["name"] is not None:
        name = fields["name"].strip()[:200]
        if not name:
            raise Invalid("name is required", code="invalid_name")
        row.name = name
    if "domain" in fields:
        domain = clean_domain(fields["domain"])
        await _lock(session, workspace_id)
        await _check_domain_free(session, workspace_id=workspace_id, domain=domain, company_id=row.id)
        row.domain = domain
    if "plan" in fields:
        row.plan = (fields["plan"] or "").strip()[:60] or None
    if fields.get("custom_attributes"):
        values = await attributes.validate(
            session, workspace_id=workspace_id, values=fields["custom_attributes"], applies_to="company"
        )
        merged = {**(row.custom_attributes or {}), **values}
        row.custom_attributes = {k: v for k, v in merged.items() if v is not None}
    await session.flush()
    return row


async def find_or_create(
    session: AsyncSession, *, workspace_id: int, name: str | None = None, domain: str | None = None
) -> Company | None:
    """The company with this domain, else with this name, else a new one (None without either)."""
    domain = clean_domain(domain)
    name = (name or "").strip()[:200]
    if not domain and not name:
        return None
    await _lock(session, workspace_id)
    if domain:
        found = await by_domain(session, workspace_id=workspace_id, domain=domain)
        if found is not None:
            return found
    if name:
        found = await by_name(session, workspace_id=workspace_id, name=name)
        if found is not None:
            if domain and found.domain is None:
                found.domain = domain
                await session.flush()
            return found
    return await create(session, workspace_id=workspace_id, name=name or domain or "", domain=domain)


async def delete(session: AsyncSession, *, workspace_id: int, company_id: int) -> None:
    """Delete a company; its contacts stay, without a company (ON DELETE SET NULL)."""
    row = await get(session, workspace_id=workspace_id, company_id=company_id)
    await session.delete(row)
    await session.flush()
