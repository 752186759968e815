"""The e-mail channel in Chromium: an agent answers an e-mail conversation from the console and
the reply reaches the inbox's relay (a loopback SMTP server) threaded; the e-mail screens in
ko and en at 1280 and 390 px (screenshots in .pytest_cache/screens/ for a person to look at)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import free_port
from tests.mail.support import Sink, customer_mail, email_inbox, eventually, send
from tests.test_console_helpers import add_agent

pytestmark = pytest.mark.browser
SCREENS = Path(
    os.environ.get("SODAM_SCREENS_DIR") or Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"
)


@pytest.fixture(scope="module")
def mail_server(server_factory):
    port = free_port()
    server = server_factory(extra_env={"SODAM_SMTP_LISTEN_PORT": str(port)})
    server.smtp_port = port
    return server


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


async def _listening(port: int):
    async def up():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    await eventually(up)


async def _sign_in(new_context, server, email, password, width=1280):
    page = await (await new_context(viewport={"width": width, "height": 900})).new_page()
    await page.goto(f"{server.url}/console/login")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{server.url}/console")
    await page.wait_for_load_state("load")  # its deferred scripts have run
    return page


async def _conversation_of(inbox_id: int) -> int:
    from sqlalchemy import select

    from sodam.conversations.models import Conversation
    from sodam.db.session import session_scope

    async def found():
        async with session_scope() as session:
            return await session.scalar(select(Conversation.id).where(Conversation.inbox_id == inbox_id))

    return await eventually(found)


async def test_an_agent_answers_an_email_from_the_console(mail_server, new_context, make_workspace, sink):
    ws = await make_workspace()
    inbox_id, address = await email_inbox(ws, relay_port=sink.port)
    await _listening(mail_server.smtp_port)
    question = customer_mail(
        to=address,
        subject="배송 문의",
        body="주문한 물건이 아직 안 왔어요.\n\nOn Mon, Dec 1, 2026 at 3:02 PM 소담 <a@b.kr> wrote:\n> 주문 감사합니다",
    )
    await send(mail_server.smtp_port, question)
    conversation_id = await _conversation_of(inbox_id)
    page = await _sign_in(new_context, mail_server, ws.agent_email, ws.agent_password)
    row = page.locator(f'#conversation-list [data-conversation-id="{conversation_id}"]')
    await expect(row.locator(".row-subject")).to_contain_text("배송 문의")
    await row.click()
    await expect(page.locator("#conversation-subject")).to_contain_text("배송 문의")
    incoming = page.locator("#messages .msg-incoming").first
    await expect(incoming.locator(".msg-body")).to_have_text("주문한 물건이 아직 안 왔어요.")
    quote = incoming.locator("details.mail-quote")
    await expect(quote.locator("pre")).to_be_hidden()  # folded
    await quote.locator("summary").click()
    await expect(quote.locator("pre")).to_contain_text("> 주문 감사합니다")
    await expect(page.locator("#mail-reply-hint")).to_contain_text("gildong@customer.example")
    await page.locator("#reply-box").fill("내일 도착 예정입니다. 감사합니다.")
    await page.locator("#reply-box").press("Enter")
    await expect(page.locator("#messages .msg-outgoing .msg-body")).to_have_text(
        "내일 도착 예정입니다. 감사합니다."
    )
    ((rcpts, mail),) = await sink.wait_for(1)
    assert rcpts == ["gildong@customer.example"]
    assert mail["Subject"] == "Re: 배송 문의"
    assert mail["In-Reply-To"] == question["Message-ID"] and question["Message-ID"] in mail["References"]
    assert "내일 도착 예정입니다" in mail.get_body(preferencelist=("plain",)).get_content()

    # The reply's state turns from "sending" to "sent" without a reload.
    await expect(page.locator('#messages .mail-delivery[data-delivery="sent"]')).to_have_count(1)
    await expect(page.locator("#messages .mail-delivery")).to_contain_text("메일 보냄")


HOSTILE = (
    '<div dir="ltr"><p>안녕하세요, 주문 <b>취소</b> 부탁드립니다.</p>'
    '<p>주문번호: <a href="https://shop.example/orders/1042">1042</a></p>'
    '<img src="https://tracker.example/p.gif" onerror="alert(1)"><script>alert(2)</script></div>'
    '<div class="gmail_quote"><div>2026년 12월 1일 (화) 오후 3:02, 소담 고객센터 &lt;help@shop.example&gt;님이 작성:</div>'
    "<blockquote>주문해 주셔서 감사합니다.<br>배송은 2~3일 걸립니다.</blockquote></div>"
)


@pytest.fixture
def screens_dir():
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_mail_screens(mail_server, new_context, make_workspace, locale, screens_dir):
    from sodam.accounts.models import Role

    ws = await make_workspace()
    email, password = ws.agent_email, ws.agent_password
    if locale == "en":
        _id, email, password = await add_agent(ws, role=Role.admin, locale="en")
    inbox_id, address = await email_inbox(ws, relay_port=free_port())
    await _listening(mail_server.smtp_port)
    msg = customer_mail(
        to=address, subject="주문 취소 요청드립니다", sender="김민지 <minji@customer.example>"
    )
    msg.clear_content()
    msg.set_content(
        "안녕하세요, 주문 취소 부탁드립니다.\n주문번호: 1042\n\n"
        "2026년 12월 1일 (화) 오후 3:02, 소담 고객센터 <help@shop.example>님이 작성:\n"
        "> 주문해 주셔서 감사합니다.\n> 배송은 2~3일 걸립니다.\n"
    )
    msg.add_alternative(HOSTILE, subtype="html")
    await send(mail_server.smtp_port, msg)
    await send(
        mail_server.smtp_port,
        customer_mail(
            to=address,
            subject="부재중: 주문 취소",
            sender="김민지 <minji@customer.example>",
            body="휴가 중입니다. 12월 8일에 돌아옵니다.",
            headers={"Auto-Submitted": "auto-replied"},
            in_reply_to=msg["Message-ID"],
        ),
    )
    conversation_id = await _conversation_of(inbox_id)
    for replies, width in enumerate((1280, 390), start=1):
        page = await _sign_in(new_context, mail_server, email, password, width)
        await page.goto(f"{mail_server.url}/console/settings/inboxes/{inbox_id}/mail")
        await expect(page.locator("#mail-form")).to_be_visible()
        await page.screenshot(path=str(SCREENS / f"mail-settings-{locale}-{width}.png"), full_page=True)
        await page.goto(f"{mail_server.url}/console/conversations/{conversation_id}")
        await expect(page.locator("#conversation-subject")).to_be_visible()
        await page.locator("#reply-box").fill(
            "확인 후 취소해 드리겠습니다." if locale == "ko" else "We'll cancel it for you."
        )
        await page.locator("#reply-box").press("Enter")
        # Each width's pass sends a reply: the 390 px pass sees the 1280 px reply's delivery too
        # (counting 1 there passed only while the new reply was not yet drawn).
        await expect(page.locator("#messages .mail-delivery")).to_have_count(replies)
        await page.locator("details.mail-quote summary").first.click()
        await page.screenshot(path=str(SCREENS / f"mail-conversation-{locale}-{width}.png"))
        async with page.expect_popup(timeout=30_000) as popup_info:  # a new renderer: slow under load
            await page.locator(".mail-original-link").first.click()
        original = await popup_info.value
        frame = original.frame_locator("#mail-original-frame")
        await expect(frame.locator("b")).to_have_text("취소")
        assert await frame.locator("img, script").count() == 0
        await original.screenshot(path=str(SCREENS / f"mail-original-{locale}-{width}.png"))
        if width == 1280:
            await page.goto(f"{mail_server.url}/console")
            await page.locator("#list-pane").screenshot(path=str(SCREENS / f"mail-list-{locale}-{width}.png"))
