"""Seed data for the page rules tests: published articles, a widget visitor."""

from __future__ import annotations

import httpx

from sodam.db.session import session_scope
from sodam.knowledge import service as knowledge


async def articles(ws) -> list[int]:
    """Two published articles and a draft: [returns, shipping, draft]."""
    async with session_scope() as session:
        ids = []
        for title, body, status in (
            (
                "반품 신청 방법",
                "주문 내역에서 반품 신청 버튼을 누르세요. 반품 배송비는 무료입니다.",
                "published",
            ),
            ("배송 기간 안내", "결제 후 2~3일 안에 도착합니다.", "published"),
            ("초안 문서", "아직 쓰는 중", "draft"),
        ):
            a = await knowledge.create_article(
                session, workspace_id=ws.workspace_id, title=title, body=body, status=status
            )
            ids.append(a.id)
        await session.commit()
        return ids


def widget(server, ws) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{server.url}/widget/v1/{ws.inbox_token}", timeout=20)


async def visitor(server, ws) -> tuple[str, int]:
    """(visitor token, contact id) of a new widget visitor."""
    async with widget(server, ws) as w:
        r = await w.post("/session", json={"locale": "ko"})
        assert r.status_code == 200, r.text
        return r.json()["visitor_token"], r.json()["contact_id"]
