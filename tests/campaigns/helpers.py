"""Shared steps of the campaign tests: widget contacts in a segment, waiting for a campaign."""

from __future__ import annotations

import asyncio
import secrets

from sodam.contacts import service as contacts
from sodam.db.session import session_scope

EVERYONE = {"all": [{"field": "language", "op": "set"}]}


async def widget_contacts(ws, n: int, *, inbox_id: int | None = None, english: int = 0) -> list[int]:
    """n contacts who opened the widget of the inbox (the last `english` of them in English)."""
    out = []
    async with session_scope() as session:
        for i in range(n):
            c = await contacts.get_or_create_by_identity(
                session,
                workspace_id=ws.workspace_id,
                channel_type="web_widget",
                external_id=f"{inbox_id or ws.inbox_id}:{secrets.token_hex(8)}",
                name=f"Alex {i}" if i >= n - english else f"김민지{i}",
                language="en" if i >= n - english else "ko",
            )
            out.append(c.id)
        await session.commit()
    return out


async def segment(api, filter=None, name: str | None = None) -> int:
    r = await api.post(
        "/api/v1/segments", json={"name": name or f"seg {secrets.token_hex(3)}", "filter": filter or EVERYONE}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def wait_for(api, campaign_id: int, status: str = "done", seconds: float = 60) -> dict:
    for _ in range(int(seconds * 5)):
        stats = (await api.get(f"/api/v1/campaigns/{campaign_id}/stats")).json()
        if stats.get("status") == status:
            return stats
        await asyncio.sleep(0.2)
    raise AssertionError(f"campaign {campaign_id} did not reach {status}: {stats}")
