"""In Chromium: the audit log page (filters by htmx), erasing a contact from the conversation's
contact panel (with its confirmation), the customer privacy page and the widget's footer link.
Screenshots (ko/en, desktop and 390 px) go to .pytest_cache/screens/ for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.test_console_helpers import seed_conversation

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"
SIZES = {"desktop": {"width": 1280, "height": 860}, "390": {"width": 390, "height": 844}}


async def shoot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        await page.set_viewport_size(size)
        await page.screenshot(path=str(SCREENS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(SIZES["desktop"])


async def sign_in(page, live_server, ws) -> None:
    await page.goto(f"{live_server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/console$"))
    # The URL changes before the page's deferred scripts run; a key pressed then does nothing.
    await page.wait_for_load_state("load")


async def set_locale(ws, locale: str) -> None:
    from sodam.accounts import service as accounts
    from sodam.db.session import session_scope

    async with session_scope() as session:
        await accounts.set_agent_locale(
            session, workspace_id=ws.workspace_id, agent_id=ws.agent_id, locale=locale
        )


async def test_audit_page_and_erasure_in_the_browser(live_server, make_workspace, new_context):
    ws = await make_workspace()
    conversation_id, contact_id = await seed_conversation(
        ws, text="제 전화번호는 010-2222-3333입니다", name="윤서진"
    )
    context = await new_context(viewport=SIZES["desktop"])
    page = await context.new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    await expect(page.locator("#contact-erase")).to_be_visible()
    await page.goto(f"{live_server.url}/console/settings/audit")
    rows = page.locator("#audit-table tbody tr[data-audit-id]")
    await expect(rows.first).to_be_visible()
    await shoot(page, "audit-ko")

    # Filtering swaps the results in place (htmx) and keeps the filter in the URL.
    await page.locator("select[name=target_type]").select_option("conversation")
    await expect(page.locator('#audit-table tr[data-action="contact.read"]')).to_have_count(0)
    await expect(page.locator('#audit-table tr[data-action="conversation.read"]')).to_have_count(1)
    await expect(page).to_have_url(re.compile(r"target_type=conversation"))

    # Erase from the contact panel: a Korean confirmation, then the page shows the redaction.
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    confirmations: list[str] = []

    async def accept(dialog):
        confirmations.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await page.locator("#contact-erase").click()
    await expect(page.locator("#conversation-area, .conversation-area").first).to_contain_text(
        "고객 요청으로 삭제된 메시지입니다"
    )
    assert confirmations and "되돌릴 수 없습니다" in confirmations[0]
    await expect(page.locator("body")).not_to_contain_text("010-2222-3333")

    await set_locale(ws, "en")
    await page.goto(f"{live_server.url}/console/settings/audit")
    await expect(page.locator("h1")).to_have_text("Audit log")
    await expect(page.locator('#audit-table tr[data-action="contact.erased"]')).to_have_count(1)
    await shoot(page, "audit-en")
    await page.goto(f"{live_server.url}/console/settings/privacy")
    await expect(page.locator("#privacy-form")).to_be_visible()
    await shoot(page, "privacy-settings-en")
    await set_locale(ws, "ko")
    await page.goto(f"{live_server.url}/console/settings/privacy")
    await shoot(page, "privacy-settings-ko")
    assert contact_id


async def test_privacy_page_and_widget_footer(live_server, make_workspace, new_context, host_site):
    ws = await make_workspace()
    context = await new_context(viewport=SIZES["desktop"])
    page = await context.new_page()
    for lang, heading in (("ko", "개인정보 처리 안내"), ("en", "How we handle your personal data")):
        await page.goto(f"{live_server.url}/help/{ws.slug}/privacy?locale={lang}")
        await expect(page.locator("h1")).to_have_text(heading)
        await expect(page.locator("#privacy-tokens")).to_contain_text("tests")
        await shoot(page, f"privacy-page-{lang}")
    await page.goto(f"{live_server.url}/help/{ws.slug}?lang=ko")
    await page.locator("#hc-privacy-link").click()
    await expect(page.locator("h1")).to_have_text("개인정보 처리 안내")

    await page.goto(host_site.page_url(ws.inbox_token))
    await page.locator("#sodam-launcher").click()
    link = page.locator("#sodam-privacy")
    await expect(link).to_be_visible()
    await expect(link).to_have_text("개인정보 처리 안내")
    assert (await link.get_attribute("href")).endswith(f"/help/{ws.slug}/privacy?locale=ko")
    await page.set_viewport_size(SIZES["390"])
    await page.screenshot(path=str(SCREENS / "widget-footer-ko-390.png"))
