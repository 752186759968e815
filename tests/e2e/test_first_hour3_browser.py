"""A newcomer's first hour with the bot (third walk), what it found broken in Chromium: a contact
name longer than the conversation list's row (a lead-capture reply stored as the name, or a long
name from the pre-chat form or the API) pushed the row past the list and hid its waiting time;
an e-mail the customer gave the bot that another contact already holds showed in the contact
card as "claimed_email", a code, in a Korean console."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import expect

from sodam.contacts import service as contacts
from sodam.db.session import session_scope
from tests.e2e.test_first_hour_browser import sign_in
from tests.e2e.test_privacy_browser import set_locale
from tests.test_console_helpers import seed_conversation

pytestmark = pytest.mark.browser

LONG_NAME = "김" * 120
SHOTS = os.environ.get("SODAM_FIRST_HOUR3_SHOTS")  # a folder: the screens are saved there to look at


async def shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)  # noqa: ASYNC230 - a test's screenshot folder
        await page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_long_contact_name_stays_on_its_row_and_keeps_the_waiting_time(
    live_server, make_workspace, new_context, width
):
    ws = await make_workspace()
    await seed_conversation(ws, name=LONG_NAME, text="배송 언제와여??")
    page = await (await new_context(viewport={"width": width, "height": 844})).new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console?view=all&status=open")
    row = page.locator("#conversation-list .conv-row").first
    await expect(row.locator(".row-name")).to_contain_text(LONG_NAME)
    wait = row.locator(".row-wait")
    await expect(wait).to_be_visible()
    inside = await page.evaluate(
        """() => {
          const list = document.querySelector('#conversation-list').getBoundingClientRect();
          const row = document.querySelector('#conversation-list .conv-row');
          const wait = row.querySelector('.row-wait').getBoundingClientRect();
          return {
            wait: wait.right <= list.right + 0.5 && wait.width > 0,
            row: row.scrollWidth <= row.clientWidth + 1,
          };
        }"""
    )
    assert inside == {"wait": True, "row": True}, inside
    await shot(page, f"long-name-{width}")


@pytest.mark.parametrize(
    ("locale", "label"),
    [("ko", "고객이 알려 준 이메일 (다른 고객이 사용 중)"), ("en", "E-mail given (another contact has it)")],
)
async def test_an_e_mail_another_contact_holds_is_named_in_the_agent_s_words(
    live_server, make_workspace, new_context, locale, label
):
    ws = await make_workspace()
    if locale == "en":
        await set_locale(ws, "en")
    _, contact_id = await seed_conversation(ws, name="김민지", text="배송 언제와여??")
    async with session_scope() as session:
        first = await contacts.create(
            session, workspace_id=ws.workspace_id, name="김민지", email="minji@example.com"
        )
        assert first.id != contact_id
        # What the bot's lead capture stores when the e-mail is another contact's (handoff.collect_lead).
        await contacts.apply_claims(
            session, workspace_id=ws.workspace_id, contact_id=contact_id, email="minji@example.com"
        )
    page = await (await new_context()).new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/contacts/{contact_id}")
    shown = page.locator("#contact-free-attributes")
    await expect(shown.locator("dt")).to_have_text([label])
    await expect(shown.locator("dd")).to_have_text(["minji@example.com"])
    await expect(shown).not_to_contain_text("claimed_email")
    # the value keeps a readable column beside its long label (it was squeezed to one letter a line)
    value = await shown.locator("dd").bounding_box()
    assert value["width"] >= 120, value
    # the timeline counts the messages in the agent's words ("1 messages" before)
    summary = page.locator(".tl-summary").first
    await expect(summary).to_contain_text("Messages: 1" if locale == "en" else "메시지 1개")
    await shot(page, f"claimed-email-{locale}")
