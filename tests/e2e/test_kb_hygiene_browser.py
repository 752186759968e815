"""Knowledge-base hygiene in Chromium: the "articles to fix" page and an article with a video
(help center and console preview), Korean and English, 1280 and 390 px wide. The player is a
sandboxed iframe from an allowed host; an off-list line never becomes one. SODAM_SHOTS=dir
saves the screenshots."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from sodam.db.session import session_scope
from sodam.knowledge import clock, service
from sodam.knowledge.models import KbArticle

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SODAM_SHOTS")
SANDBOX = "allow-scripts allow-same-origin allow-presentation"


async def shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)  # noqa: ASYNC230 - a test's screenshot folder
        await page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


async def _seed(ws) -> dict[str, int]:
    ids = {}
    clock.set(datetime.now(UTC) - timedelta(days=220))
    try:
        async with session_scope() as session:
            for key, locale, title, body in [
                (
                    "ko_video",
                    "ko",
                    "배송 조회 방법 (영상)",
                    "주문하신 상품의 배송 상태는 아래 영상처럼 확인하실 수 있습니다.\n\n@[video](https://youtu.be/dQw4w9WgXcQ)\n\n1. 마이페이지를 여세요.\n2. 주문 내역을 누르세요.",
                ),
                (
                    "en_video",
                    "en",
                    "How to track a delivery (video)",
                    "Watch how to check your order's delivery status.\n\n@[video](https://vimeo.com/76979871)\n\n1. Open My page.\n2. Press Orders.",
                ),
                (
                    "ko_refund",
                    "ko",
                    "환불 규정 안내",
                    "## 문제\n\n환불이 늦어요.\n\n## 해결 방법\n\n1. 영업일 3일을 기다려 주세요.",
                ),
                (
                    "en_refund",
                    "en",
                    "Refund policy",
                    "## Problem\n\nRefund is late.\n\n## Steps\n\n1. Wait 3 business days.",
                ),
            ]:
                article = await service.create_article(
                    session,
                    workspace_id=ws.workspace_id,
                    title=title,
                    body=body,
                    locale=locale,
                    status="published",
                    author_id=ws.agent_id,
                )
                ids[key] = article.id
            await session.execute(
                update(KbArticle)
                .where(KbArticle.id.in_([ids["ko_refund"], ids["en_refund"]]))
                .values(helpful_count=1, not_helpful_count=7)
            )
            # Stored by an old path: a line from a host off the list (never rendered).
            await session.execute(
                update(KbArticle)
                .where(KbArticle.id == ids["ko_video"])
                .values(body=KbArticle.body + "\n\n@[video](https://evil.example/v/1)")
            )
    finally:
        clock.reset()
    return ids


@pytest.mark.parametrize("lang", ["ko", "en"])
async def test_health_page_and_video_article(live_server, new_context, make_workspace, lang):
    ws = await make_workspace()
    ids = await _seed(ws)
    for width in (1280, 390):
        context = await new_context(
            viewport={"width": width, "height": 900}, locale="ko-KR" if lang == "ko" else "en-US"
        )
        page = await context.new_page()
        await page.goto(f"{live_server.url}/console/login")
        await page.locator("input[name=email]").fill(ws.agent_email)
        await page.locator("input[name=password]").fill(ws.agent_password)
        await page.locator("button[type=submit]").click()
        await expect(page).to_have_url(f"{live_server.url}/console")
        if lang == "en":
            await page.evaluate(
                """async () => {
                  const token = document.querySelector('input[name=csrf_token]').value;
                  await fetch('/console/preferences/locale', {method: 'POST', body: new URLSearchParams({locale: 'en', csrf_token: token})});
                }"""
            )
        await page.goto(f"{live_server.url}/console/kb/health")
        items = page.locator(".kb-health-item")
        await expect(items.first).to_be_visible()
        assert await items.count() == 4
        await expect(page.locator("h1")).to_have_text(
            "정리할 도움말 문서" if lang == "ko" else "Articles to fix"
        )
        await shot(page, f"kb-health-{lang}-{width}")

        video = ids[f"{lang}_video"]
        await page.goto(f"{live_server.url}/help/{ws.slug}/articles/{video}")
        frames = page.locator("#hc-body iframe")
        await expect(frames).to_have_count(1)
        assert await frames.first.get_attribute("sandbox") == SANDBOX
        assert "evil.example" not in await page.locator("#hc-body").inner_html()
        await shot(page, f"kb-video-helpcenter-{lang}-{width}")

        await page.goto(f"{live_server.url}/console/kb/articles/{video}")
        await expect(page.locator("#kb-preview iframe")).to_have_count(1)
        await shot(page, f"kb-video-console-{lang}-{width}")
        await context.close()
