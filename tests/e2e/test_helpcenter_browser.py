"""In Chromium: a customer searches the help center in Korean with a spacing variant, opens
the article, votes 👍 (counted once), and switches the help center to English."""

from __future__ import annotations

import pytest

from sodam.db.session import session_scope
from sodam.knowledge import engagement, service
from tests.knowledge.helpers import seed_kb

pytestmark = pytest.mark.browser


async def test_search_and_vote_in_the_browser(live_server, make_workspace, new_context):
    ws = await make_workspace()
    ids = await seed_kb(ws.workspace_id)
    context = await new_context(locale="ko-KR", viewport={"width": 360, "height": 740})
    page = await context.new_page()
    await page.goto(f"{live_server.url}/help/{ws.slug}")
    assert await page.locator("h1").inner_text() == "무엇을 도와드릴까요?"
    await page.fill("#hc-q", "배송기간 얼마나 걸려요?")
    await page.click("#hc-search-button")
    first = page.locator(".hc-result").first
    assert await first.get_attribute("data-article-id") == str(ids["ko:shipping"])
    await first.locator("a").click()
    await page.wait_for_url(f"**/help/{ws.slug}/articles/{ids['ko:shipping']}**")
    assert "2~3 영업일" in await page.locator("#hc-body").inner_text()
    assert await page.locator("#hc-body strong").count() == 1  # markdown rendered
    await page.click("#vote-yes")
    await page.wait_for_selector("#hc-thanks")
    assert "의견 감사합니다" in await page.locator("#hc-thanks").inner_text()
    # a reload and a second vote do not count twice
    await page.goto(f"{live_server.url}/help/{ws.slug}/articles/{ids['ko:shipping']}")
    await page.click("#vote-yes")
    await page.wait_for_selector("#hc-thanks")
    async with session_scope() as session:
        article = await service.get_article(
            session, workspace_id=ws.workspace_id, article_id=ids["ko:shipping"]
        )
        assert (article.helpful_count, article.not_helpful_count, article.view_count) == (1, 0, 2)
        top = await engagement.most_searched(session, workspace_id=ws.workspace_id, locale="ko")
        assert top[0].query == "배송기간 얼마나 걸려요?" and top[0].clicks == 1
    # no horizontal scrolling on a 360 px phone
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.click("#hc-lang")
    assert await page.locator("h1").first.inner_text() != ""
    await page.goto(f"{live_server.url}/help/{ws.slug}?lang=en")
    assert await page.locator("h1").inner_text() == "How can we help?"
