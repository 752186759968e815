"""Issue 11's promises walked as a newcomer would, in Chromium at a phone's 390 px and a
desktop's 1280 px: the demo page `sodam serve` prints is the first thing a newcomer opens, and
no Korean word on it or in the widget is broken across two lines; a customer whose name is
known hears it at the head of a handoff that still reads as sentences."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from sodam.channels import service as inboxes
from sodam.db.session import session_scope
from sodam.knowledge import service as knowledge
from tests.e2e.test_bot_browser import BOT_TIMEOUT, QUESTION, bot_workspace
from tests.e2e.test_privacy_browser import SIZES, set_locale, sign_in
from tests.e2e.test_widget_browser import open_widget, send
from tests.test_console_helpers import seed_conversation

pytestmark = pytest.mark.browser

# The words (runs without a space) holding Hangul that the layout split over two lines: the
# rectangles of one word on more than one line. Into open shadow roots (the widget's).
BROKEN_WORDS_JS = """(root) => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === 3) {
      const re = /\\S+/g; let m;
      while ((m = re.exec(node.textContent))) {
        if (!/[\\uac00-\\ud7a3]/.test(m[0])) continue;
        const r = document.createRange();
        r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
        if (tops.size > 1) out.push(m[0]);
      }
      return;
    }
    if (node.nodeType === 1) {
      const style = getComputedStyle(node);
      if (style.display === 'none' || style.visibility === 'hidden') return;
      if (['SCRIPT', 'STYLE', 'TEXTAREA', 'CODE', 'PRE'].includes(node.tagName)) return;
      if (node.shadowRoot) walk(node.shadowRoot);
    } else if (node.nodeType !== 11) return;
    for (const child of node.childNodes) walk(child);
  };
  walk(root || document.body);
  return out;
}"""


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_demo_page_breaks_no_korean_word(
    live_server, new_context, make_workspace, host_site, width
):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    context = await new_context(viewport={"width": width, "height": 844})
    page = await context.new_page()
    await page.goto(f"{live_server.url}/widget/demo?inbox={ws.inbox_token}")
    intro = page.locator("p").first
    await expect(intro).to_contain_text("상담원 콘솔에서 바로 확인하실 수 있습니다")
    assert await page.evaluate(BROKEN_WORDS_JS) == []
    # The allowed origins are labelled in the page's language too.
    body = page.locator("body")
    await expect(body).to_contain_text(f"허용 도메인: {host_site.origin}")
    await expect(body).not_to_contain_text("allowed origins")


@pytest.mark.parametrize(
    ("locale", "name", "question", "feedback", "named", "bar"),
    [
        ("ko-KR", "김소담", QUESTION, "그건 도움이 안 됐어요", "김소담님, 도움이 되지 못해", "대기 순번 1번"),
        (
            "en-US",
            "Sodam Kim",
            "how long does delivery take?",
            "that didn't help",
            "Sodam Kim, sorry that didn't help",
            "number 1 in line",
        ),
    ],
)
async def test_a_named_handoff_on_a_phone(
    live_server, host_site, new_context, make_workspace, locale, name, question, feedback, named, bar
):
    ws, _ = await bot_workspace(host_site, make_workspace, prechat_form=True)
    async with session_scope() as session:
        await knowledge.create_article(
            session,
            workspace_id=ws.workspace_id,
            title="How long does shipping take?",
            locale="en",
            status="published",
            body="Orders arrive within 2-3 business days.",
            alternate_questions=["how long does delivery take?"],
        )
    context = await new_context(locale=locale, viewport={"width": 390, "height": 844})
    page = await open_widget(context, host_site, ws)
    prechat = page.locator("#sodam-prechat")
    await prechat.locator("input[name=name]").fill(name)
    await prechat.locator("input[name=email]").fill("sodam.kim@example.com")
    await prechat.locator("button[type=submit]").click()
    await expect(prechat).to_be_hidden()
    await send(page, question)
    bots = page.locator("#sodam-messages .msg.bot")
    # The first bot job of a fresh server loads the encoder; on a loaded machine that took > 20 s.
    await expect(bots).to_have_count(2, timeout=3 * BOT_TIMEOUT)
    await expect(bots.nth(0).locator(".card")).to_have_count(1)
    await send(page, feedback)
    await expect(bots).to_have_count(3, timeout=BOT_TIMEOUT)  # one article in the language: a person
    handoff = bots.nth(2).locator(".msg-body")
    await expect(handoff).to_contain_text(named)
    await expect(page.locator("#sodam-waiting")).to_contain_text(bar)
    assert await page.evaluate(BROKEN_WORDS_JS) == []
    # Nothing clipped: every button of the panel lies inside the phone's width.
    overflow = await page.evaluate(
        """() => { const root = document.querySelector('#sodam-root, [id^=sodam]')?.shadowRoot
                   || [...document.querySelectorAll('*')].find(e => e.shadowRoot).shadowRoot;
                   return [...root.querySelectorAll('button')].filter(b => {
                     const r = b.getBoundingClientRect();
                     return r.width > 0 && (r.right > innerWidth + 1 || b.scrollWidth > b.clientWidth + 1);
                   }).map(b => b.textContent.trim()); }"""
    )
    assert overflow == []
    assert page.errors == []


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_an_open_conversation_on_a_phone_shows_the_customer_s_whole_name(
    live_server, make_workspace, new_context, locale
):
    """The header's line is short at 390 px: the inbox and number give way first ("웹 채팅 · #…"),
    the customer's name last (it read "Visitor …" beside a whole "웹사이트 채팅 …")."""
    ws = await make_workspace()
    await set_locale(ws, locale)
    async with session_scope() as session:  # the demo's inbox name: longer than the tests' "웹 채팅"
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        inbox.name = "웹사이트 채팅"
    conversation_id, _ = await seed_conversation(ws, text="배송 언제 와요?", name="Emily Clark-Kim")
    page = await (await new_context(viewport=SIZES["390"])).new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    name = page.locator("#conversation .conversation-title h2")
    await expect(name).to_have_text("Emily Clark-Kim")
    assert await name.evaluate("e => e.scrollWidth <= e.clientWidth"), "the name is cut"
