"""The call bar of a widget conversation (templates/calls/_panel.html, static/console-calls.css)
on a 390 px phone: one short row for the two call buttons (it took ~38 px and crowded the
conversation under the two-line header), nothing sideways, and with a customer's call request
and booked calls showing, every control still in view and Korean wrapping between words, never
inside one. At 1280 px the bar is as it was. SODAM_CALL_BAR_SHOTS=<folder> keeps screenshots."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from sodam.calls import service as calls
from sodam.calls.models import WebCall
from sodam.channels import service as inboxes
from sodam.db.session import session_scope
from tests.e2e.test_privacy_browser import set_locale, sign_in
from tests.test_console_helpers import seed_conversation

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SODAM_CALL_BAR_SHOTS")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 844}

# Every control of the bar that shows: its box inside the screen, not clipped by the bar.
IN_VIEW = """(bar) => [...bar.querySelectorAll('button, #call-request-text, .call-booked li')]
  .filter((e) => e.getClientRects().length)
  .every((e) => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth + 1; })"""
NO_SIDEWAYS = "document.documentElement.scrollWidth <= window.innerWidth"


async def _shot(page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/{name}.png")


async def _request_and_bookings(ws, conversation_id: int, contact_id: int) -> None:
    """A voice call the customer asks for now, and two booked calls (one already due)."""
    now = datetime.now(UTC)
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        await calls.request(session, inbox=inbox, contact_id=contact_id, kind="voice")
        for kind, at in (("video", now - timedelta(minutes=2)), ("voice", now + timedelta(days=1))):
            session.add(
                WebCall(
                    workspace_id=ws.workspace_id,
                    conversation_id=conversation_id,
                    inbox_id=ws.inbox_id,
                    contact_id=contact_id,
                    kind=kind,
                    initiator="contact",
                    status="scheduled",
                    scheduled_at=at,
                )
            )


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_the_call_bar_fits_a_phone(live_server, make_workspace, new_context, locale):
    ws = await make_workspace()
    await set_locale(ws, locale)
    conversation_id, contact_id = await seed_conversation(ws, text="통화로 설명을 듣고 싶어요")
    page = await (await new_context(viewport=PHONE)).new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/conversations/{conversation_id}")
    bar = page.locator("#call-panel.call-panel")
    await expect(page.locator("#call-start-voice")).to_be_visible()

    # The two call buttons: one short row, no sideways scrolling.
    await page.wait_for_timeout(200)
    await _shot(page, f"bar-{locale}-390")
    box = await bar.bounding_box()
    assert box["height"] <= 32, box
    assert await page.evaluate(NO_SIDEWAYS)
    assert await bar.evaluate(IN_VIEW)
    video = await page.locator("#call-start-video").bounding_box()
    voice = await page.locator("#call-start-voice").bounding_box()
    assert abs(video["y"] - voice["y"]) < 2  # side by side
    assert video["height"] >= 24 and voice["height"] >= 24  # still a finger's target

    # The desktop bar is unchanged: 13 px text, the label in view, the buttons padded as before.
    await page.set_viewport_size(DESKTOP)
    await page.wait_for_timeout(200)
    await _shot(page, f"bar-{locale}-1280")
    await expect(page.locator(".call-panel-label")).to_be_visible()
    assert await page.locator("#call-start-video").evaluate(
        "e => getComputedStyle(e).padding === '4px 10px' && getComputedStyle(e).fontSize === '13px'"
    )
    assert (await bar.bounding_box())["height"] <= 40

    # A customer's request and two booked calls: everything in view, Korean wraps by words.
    await _request_and_bookings(ws, conversation_id, contact_id)
    await page.set_viewport_size(PHONE)
    await page.reload()
    await expect(page.locator("#call-request")).to_be_visible()
    await expect(page.locator("#call-booked li")).to_have_count(2)
    await page.wait_for_timeout(200)
    await _shot(page, f"bar-request-{locale}-390")
    assert await page.evaluate(NO_SIDEWAYS)
    assert await bar.evaluate(IN_VIEW)
    for selector in ("#call-request-accept", "#call-request-decline", ".call-start-booked"):
        for button in await page.locator(selector).all():
            await expect(button).to_be_visible()
            assert await button.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), selector
    assert await page.locator("#call-request-text").evaluate(
        "e => getComputedStyle(e).wordBreak === 'keep-all'"
    )
    assert await bar.evaluate("e => getComputedStyle(e).wordBreak === 'keep-all'")
    # the bar leaves the conversation most of the screen
    assert (await bar.bounding_box())["height"] <= 130
    # a smaller phone still wraps rather than pushing the page sideways
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.wait_for_timeout(200)
    await _shot(page, f"bar-request-{locale}-360")
    assert await page.evaluate(NO_SIDEWAYS)
    assert await bar.evaluate(IN_VIEW)
    await page.set_viewport_size(DESKTOP)
    await page.wait_for_timeout(200)
    await _shot(page, f"bar-request-{locale}-1280")
