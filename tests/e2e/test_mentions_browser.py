"""In Chromium: the 소셜 멘션 page — a negative mention from the API shows with its badge, is
converted into a conversation with one click, and the alert notice is on the console.
Screenshots (ko/en, desktop and 390 px) go to .pytest_cache/screens/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from sodam.mentions.tasks import score
from tests.e2e.test_privacy_browser import set_locale, shoot, sign_in
from tests.webhooks.helpers import api

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_an_agent_converts_a_negative_mention(live_server, make_workspace, new_context, locale):
    ws = await make_workspace()
    await set_locale(ws, locale)
    async with api(live_server, ws.api_token) as client:
        r = await client.post(
            "/api/v1/inboxes",
            json={"name": "인스타그램", "channel_type": "api", "settings": {"mention_alert_threshold": 2}},
        )
        inbox_id = r.json()["id"]
        posts = [
            ("minji.k", "김민지", "소담몰 배송 2주째 안 오네요… 고객센터도 연락이 안 되고 정말 최악입니다"),
            ("jun_p", "박준", "환불 요청한 지 한 달인데 아직도 처리가 안 됐어요. 실망스럽네요"),
            ("sora", "이소라", "소담몰 포장 너무 예쁘고 배송도 빨랐어요! 다음에도 살게요"),
        ]
        ids = []
        for n, (handle, name, content) in enumerate(posts):
            made = await client.post(
                f"/api/v1/inboxes/{inbox_id}/mentions",
                json={
                    "external_id": f"ig-{n}",
                    "platform": "instagram",
                    "author_handle": handle,
                    "author_name": name,
                    "url": f"https://instagram.example/p/{n}",
                    "content": content,
                },
            )
            ids.append(made.json()["id"])
        for mention_id in ids:
            await score(mention_id=mention_id)

    page = await (await new_context()).new_page()
    await sign_in(page, live_server, ws)
    # Two negative mentions within the hour reached the inbox's threshold: a notice.
    await expect(page.locator(".security-notice[data-kind=mentions_negative]")).to_be_visible()
    await page.locator("#nav-mentions").click()
    await expect(page).to_have_url(re.compile(r"/console/mentions$"))
    first = page.locator(f"li.mention[data-mention-id='{ids[0]}']")
    await expect(first).to_have_attribute("data-sentiment", "negative")
    await expect(page.locator("li.mention")).to_have_count(3)
    await shoot(page, f"mentions-{locale}")

    await first.locator("button.mention-convert").click()
    await expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))
    await expect(page.locator("#conversation")).to_contain_text("2주째")
