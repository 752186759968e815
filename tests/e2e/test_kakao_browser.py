"""KakaoTalk in Chromium: an agent answers a KakaoTalk conversation from the console and the
fake dealer receives it; "상담 종료" closes the session and the console then offers 알림톡.
The new console parts (session panel, 알림톡 form, channel badges, channel picker, the
contact's channels) in ko and en at 1280 and 390 px: screenshots in SODAM_SCREENS_DIR
(default .pytest_cache/screens/) for a person to look at."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.kakao.conftest import PatientServer
from tests.kakao.fake_dealer import FakeDealer
from tests.kakao.support import api, event, kakao_inbox
from tests.mail.support import Sink, email_inbox, eventually
from tests.test_console_helpers import add_agent
from tests.webhooks.helpers import api_inbox, open_conversation

pytestmark = pytest.mark.browser
SCREENS = Path(
    os.environ.get("SODAM_SCREENS_DIR") or Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"
)


@pytest.fixture(scope="module")
def server(database_url):
    s = PatientServer(
        database_url, extra_env={"SODAM_KAKAO_RETRY_BASE_S": "0.2", "SODAM_KAKAO_SEND_ATTEMPTS": "3"}
    )
    yield s
    s.stop()


@pytest.fixture
async def dealer():
    d = await FakeDealer().start()
    yield d
    await d.stop()


async def _shot(page, name: str) -> None:
    await asyncio.to_thread(SCREENS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


async def _sign_in(new_context, server, email, password, width=1280, locale="ko-KR"):
    page = await (await new_context(viewport={"width": width, "height": 900}, locale=locale)).new_page()
    page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.goto(f"{server.url}/console/login")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{server.url}/console")
    await page.wait_for_load_state("load")  # its deferred scripts have run
    return page


async def test_an_agent_answers_a_kakao_conversation_from_the_console(
    server, new_context, make_workspace, dealer
):
    ws = await make_workspace()
    client = api(server, ws.api_token)
    try:
        kakao = await kakao_inbox(client, dealer)
        first = await event(server.url, kakao, "message", "kk-42", text="환불 문의드립니다")
        cid = first.json()["conversation_id"]
    finally:
        await client.aclose()
    page = await _sign_in(new_context, server, ws.agent_email, ws.agent_password)
    await page.goto(f"{server.url}/console/conversations/{cid}")
    panel = page.locator("#kakao-panel")
    await expect(panel.locator("#kakao-session-state")).to_contain_text("상담 세션 열림")
    await page.locator("#reply-box").fill("안녕하세요, 환불 도와드리겠습니다.")
    await page.locator("#reply-box").press("Enter")
    await expect(page.locator("#messages .msg-outgoing .msg-body")).to_have_text(
        "안녕하세요, 환불 도와드리겠습니다."
    )

    async def received():
        return dealer.messages()

    (got,) = await eventually(received)
    assert got["text"] == "안녕하세요, 환불 도와드리겠습니다." and got["user_key"] == "kk-42"
    assert got["sender_key"] == kakao["sender_key"]
    # The answer's state turns from 전송 중 to 전송됨 without a reload.
    await expect(page.locator('#messages .kakao-delivery[data-delivery="sent"]')).to_have_count(1)
    await expect(page.locator("#messages .kakao-delivery")).to_contain_text("카카오톡 전송됨")

    # 상담 종료: the session closes, a reply is refused with what to do instead.
    await page.locator("#kakao-end").click()
    await expect(page.locator("#kakao-session-state")).to_contain_text("상담원이 상담을 종료했습니다")
    await expect(page.locator("#kakao-alimtalk")).to_be_visible()
    await page.locator("#reply-box").fill("추가 안내드립니다")
    await page.locator("#reply-box").press("Enter")
    await expect(page.locator("#reply-error")).to_contain_text("알림톡")
    assert len(dealer.messages()) == 1

    async def told():
        return dealer.ended

    assert (await eventually(told))[0]["user_key"] == "kk-42"


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_kakao_and_one_timeline_screens(server, new_context, make_workspace, dealer, locale):
    from sodam.accounts.models import Role

    await asyncio.to_thread(SCREENS.mkdir, parents=True, exist_ok=True)
    ws = await make_workspace()
    email, password = ws.agent_email, ws.agent_password
    if locale == "en":
        _id, email, password = await add_agent(ws, role=Role.admin, locale="en")
    sink = Sink()
    client = api(server, ws.api_token)
    try:
        kakao = await kakao_inbox(client, dealer)
        await client.post(
            f"/api/v1/inboxes/{kakao['inbox_id']}/kakao/templates",
            json={
                "code": "ORDER_SHIPPED",
                "name": "발송 안내",
                "body": "#{고객명}님, 주문 #{주문번호} 상품이 발송되었습니다.",
            },
        )
        dealer.templates = [{"code": "ORDER_SHIPPED", "name": "발송 안내", "status": "approved"}]
        await client.post(f"/api/v1/inboxes/{kakao['inbox_id']}/kakao/templates/sync")
        k = await event(server.url, kakao, "message", "kk-7", text="주문한 상품 언제 오나요?")
        kcid = k.json()["conversation_id"]
        await client.post(
            f"/api/v1/conversations/{kcid}/messages", json={"content": "확인 후 안내드리겠습니다."}
        )
        await client.post(f"/api/v1/conversations/{kcid}/kakao/end")

        mail_inbox, _ = await email_inbox(ws, relay_port=sink.port)
        sms = await api_inbox(client, "SMS")
        made = await open_conversation(client, sms, source_id="010-5555-6666", email="minji@customer.example")
        mcid = made["conversation"]["id"]
        await client.post(
            f"/api/v1/conversations/{mcid}/messages",
            json={
                "content": "메일로 자세히 안내드렸습니다.",
                "via_inbox_id": mail_inbox,
                "client_id": str(uuid.uuid4()),
            },
        )
        await sink.wait_for(1)
    finally:
        await client.aclose()
        sink.stop()
    for width in (1280, 390):
        page = await _sign_in(
            new_context,
            server,
            email,
            password,
            width=width,
            locale=f"{locale}-KR" if locale == "ko" else "en-US",
        )
        await page.goto(f"{server.url}/console/conversations/{kcid}")
        await expect(page.locator("#kakao-alimtalk")).to_be_visible()
        await page.locator("#kakao-alimtalk summary").click()
        await page.screenshot(path=str(SCREENS / f"kakao-session-{locale}-{width}.png"), full_page=True)
        await page.goto(f"{server.url}/console/conversations/{mcid}")
        await expect(page.locator("#messages .channel-badge").first).to_be_visible()
        await expect(page.locator("#reply-channel")).to_be_visible()
        await page.screenshot(path=str(SCREENS / f"one-timeline-{locale}-{width}.png"), full_page=True)


async def test_an_admin_connects_kakaotalk_and_registers_a_template_in_the_console(
    server, new_context, make_workspace, dealer
):
    ws = await make_workspace()
    client = api(server, ws.api_token)
    try:
        inbox_id = await api_inbox(client, "카카오톡 채널")
    finally:
        await client.aclose()
    page = await _sign_in(new_context, server, ws.agent_email, ws.agent_password)
    await page.goto(f"{server.url}/console/settings/inboxes/{inbox_id}")
    await page.locator("#kakao-settings-link a").click()
    await expect(page.locator("#kakao-settings h1")).to_contain_text("카카오톡 연결")
    await page.wait_for_load_state("load")  # the page's deferred scripts have run
    form = page.locator("#kakao-connect")
    await form.locator("input[name=sender_key]").fill("sk-console-1")
    await form.locator("input[name=dealer_url]").fill(dealer.url)
    await form.locator("input[name=dealer_api_key]").fill(dealer.api_key)
    await form.locator("#kakao-connect-submit").click()
    await expect(page.locator("#saved")).to_have_text("카카오톡 채널을 연결했습니다.")
    await expect(page.locator("#kakao-events-url")).to_have_text(
        f"{server.url}/kakao/v1/inboxes/{inbox_id}/events"
    )
    secret = (await page.locator("#kakao-secret code").text_content()).strip()
    assert secret.startswith("kksec_")
    await _shot(page, "kakao-settings-connected-ko")

    # The secret signs the dealer's events: an event signed with it is taken.
    taken = await event(
        server.url,
        {"inbox_id": inbox_id, "sender_key": "sk-console-1", "secret": secret},
        "message",
        "kk-console",
        text="연결 확인",
    )
    assert taken.status_code == 201, taken.text
    # Shown once: a reload no longer has it.
    await page.reload()
    await expect(page.locator("#kakao-secret")).to_have_count(0)

    # A wrong code is explained next to the form and keeps what was typed.
    tf = page.locator("#kakao-template-form")
    await tf.locator("input[name=code]").evaluate("el => el.removeAttribute('pattern')")
    await tf.locator("input[name=code]").fill("발송 안내")
    await tf.locator("textarea[name=body]").fill("#{고객명}님, 주문 #{주문번호} 상품이 발송되었습니다.")
    await tf.locator("#kakao-template-submit").click()
    await expect(page.locator("#form-error")).to_contain_text("템플릿 코드는")
    await expect(page.locator("#kakao-template-form textarea[name=body]")).to_have_value(
        "#{고객명}님, 주문 #{주문번호} 상품이 발송되었습니다."
    )
    tf = page.locator("#kakao-template-form")
    await tf.locator("input[name=code]").fill("ORDER_SHIPPED")
    await tf.locator("input[name=name]").fill("발송 안내")
    await tf.locator("input[name=button_0_name]").fill("배송 조회")
    await tf.locator("input[name=button_0_url]").fill("https://shop.example/track")
    await tf.locator("#kakao-template-submit").click()
    row = page.locator('#kakao-templates tr[data-code="ORDER_SHIPPED"]')
    await expect(row).to_contain_text("제출됨")
    await expect(row).to_contain_text("고객명, 주문번호")

    # The dealer approves it; 지금 승인 상태 가져오기 brings the state.
    dealer.templates = [{"code": "ORDER_SHIPPED", "name": "발송 안내", "status": "approved"}]
    await page.locator("#kakao-sync").click()
    await expect(page.locator('#kakao-templates tr[data-code="ORDER_SHIPPED"]')).to_contain_text("승인됨")
    await _shot(page, "kakao-settings-templates-ko")
    # The dealer down: said so, nothing else changes.
    await dealer.stop()
    await page.locator("#kakao-sync").click()
    await expect(page.locator("#form-error")).to_contain_text("딜러사에 연결할 수 없습니다")

    # English and a phone-sized screen.
    from sodam.accounts.models import Role

    _id, en_email, en_password = await add_agent(ws, role=Role.admin, locale="en")
    en = await _sign_in(new_context, server, en_email, en_password, width=390, locale="en-US")
    await en.goto(f"{server.url}/console/settings/inboxes/{inbox_id}/kakao")
    await expect(en.locator("#kakao-settings h1")).to_contain_text("KakaoTalk connection")
    await expect(en.locator('#kakao-templates tr[data-code="ORDER_SHIPPED"]')).to_contain_text("Approved")
    await _shot(en, "kakao-settings-templates-en-390")
