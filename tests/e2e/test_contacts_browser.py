"""In Chromium: an agent merges two contacts from the contact page (search, preview, pick the
other's name, merge) and then undoes it; the conversations go back where they were.
Screenshots of the new screens (ko/en, 1280 and 390 px): SODAM_SHOTS=1 SODAM_SHOTS_DIR=/tmp/shots-contacts."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from sodam.companies import service as companies
from sodam.contacts import attributes, importer
from sodam.contacts import service as contacts
from sodam.conversations import service as conversations
from sodam.conversations.models import SenderType
from sodam.db.session import session_scope
from tests.e2e.test_privacy_browser import set_locale, sign_in

pytestmark = pytest.mark.browser
SHOTS = Path(
    os.environ.get("SODAM_SHOTS_DIR") or Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"
)
SIZES = {"1280": {"width": 1280, "height": 860}, "390": {"width": 390, "height": 844}}


async def shoot(page, name: str) -> None:
    await page.wait_for_load_state("networkidle")
    for label, size in SIZES.items():
        await page.set_viewport_size(size)
        await page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(SIZES["1280"])


async def seed(ws) -> dict:
    async with session_scope() as s:
        await attributes.create(
            s, workspace_id=ws.workspace_id, key="tier", label="등급", type="list", options=["VIP", "일반"]
        )
        await attributes.create(s, workspace_id=ws.workspace_id, key="ltv", label="누적 결제액", type="money")
        await attributes.create(s, workspace_id=ws.workspace_id, key="joined", label="가입일", type="date")
        await attributes.create(
            s, workspace_id=ws.workspace_id, key="marketing", label="마케팅 동의", type="boolean"
        )
        company = await companies.create(
            s, workspace_id=ws.workspace_id, name="소담상사", domain="sodam.kr", plan="엔터프라이즈"
        )
        mail = await contacts.create(
            s,
            workspace_id=ws.workspace_id,
            name="김민지",
            email="minji@example.com",
            company_id=company.id,
            custom_attributes={
                "tier": "VIP",
                "ltv": 2480000,
                "joined": "2023-05-01",
                "marketing": True,
                "memo": "전화 선호",
            },
        )
        chat = await contacts.create(
            s,
            workspace_id=ws.workspace_id,
            name="민지 (채팅)",
            phone="010-1234-5678",
            custom_attributes={"tier": "일반"},
        )
        convs = {}
        for who, text in ((mail, "주문 취소 문의드립니다"), (chat, "배송이 언제 오나요?")):
            conv = await conversations.create(
                s, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id, contact_id=who.id
            )
            await conversations.create_message(
                s, conversation=conv, content=text, sender_type=SenderType.contact, sender_id=who.id
            )
            convs[who.id] = conv.id
        await s.commit()
    async with session_scope() as s:
        data = "이름,이메일,등급\n이준,jun@example.com,VIP\n박서준,not-an-email,일반\n".encode("cp949")
        from sodam.contacts import imports

        await imports.start(
            s, workspace_id=ws.workspace_id, filename="고객목록.csv", data=data, agent_id=ws.agent_id
        )
        await importer.import_csv(s, workspace_id=ws.workspace_id, data=data)
        await s.commit()
    return {"mail": mail.id, "chat": chat.id, "company": company.id, "convs": convs}


async def owner_of(conversation_id: int, ws) -> int:
    async with session_scope() as s:
        conv = await conversations.get(s, workspace_id=ws.workspace_id, conversation_id=conversation_id)
        return conv.contact_id


async def test_an_agent_merges_two_contacts_and_undoes_it(live_server, make_workspace, new_context):
    ws = await make_workspace()
    p = await seed(ws)
    context = await new_context(viewport=SIZES["1280"])
    page = await context.new_page()
    await sign_in(page, live_server, ws)

    await page.goto(f"{live_server.url}/console/contacts/{p['mail']}")
    await expect(page.locator("#contact-attributes select[name='attr.tier']")).to_have_value("VIP")
    await expect(page.locator("#contact-attributes input[name='attr.joined']")).to_have_value("2023-05-01")
    await page.locator("#contact-merge-link").click()
    await page.locator("#merge-q").fill("민지")
    await page.locator("#merge-q").press("Enter")
    await page.locator(f"#merge-candidates tr[data-contact-id='{p['chat']}'] .merge-preview-link").click()
    await expect(page.locator("#merge-compare tr[data-field='name'] input[value=loser]")).to_be_visible()
    await expect(page.locator("#merge-moving")).to_contain_text("대화 1건")
    await page.locator("#merge-compare tr[data-field='name'] input[value=loser]").check()
    await page.locator("#merge-compare tr[data-attribute='tier'] input[value=winner]").check()
    await page.locator("#merge-confirm").click()

    await expect(page).to_have_url(re.compile(rf"/console/contacts/{p['mail']}$"))
    await expect(page.locator("#merge-banner")).to_be_visible()
    await expect(page.locator("#contact-card input[name=name]")).to_have_value("민지 (채팅)")
    await expect(page.locator("#contact-card input[name=phone]")).to_have_value("010-1234-5678")
    await expect(page.locator(".past-list li")).to_have_count(2)
    assert await owner_of(p["convs"][p["chat"]], ws) == p["mail"]

    await page.locator("#merge-undo").click()
    await expect(page).to_have_url(re.compile(rf"/console/contacts/{p['chat']}\?undone=1$"))
    await expect(page.locator("#merge-undone")).to_be_visible()
    await expect(page.locator("#contact-card input[name=phone]")).to_have_value("010-1234-5678")
    await expect(page.locator(".past-list li")).to_have_count(1)
    assert await owner_of(p["convs"][p["chat"]], ws) == p["chat"]
    assert await owner_of(p["convs"][p["mail"]], ws) == p["mail"]
    await page.goto(f"{live_server.url}/console/contacts/{p['mail']}")
    await expect(page.locator("#contact-card input[name=name]")).to_have_value("김민지")
    await expect(page.locator("#merge-banner")).to_have_count(0)


@pytest.mark.skipif(not os.environ.get("SODAM_SHOTS"), reason="screenshots on request (SODAM_SHOTS=1): slow")
async def test_screenshots_of_the_contact_screens(live_server, make_workspace, new_context):
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    ws = await make_workspace()
    p = await seed(ws)
    context = await new_context(viewport=SIZES["1280"])
    page = await context.new_page()
    await sign_in(page, live_server, ws)
    # The new screens, in Korean and in English.
    for locale in ("ko", "en"):
        await set_locale(ws, locale)
        for name, path in (
            ("contact", f"/console/contacts/{p['mail']}"),
            ("merge-preview", f"/console/contacts/{p['mail']}/merge?other={p['chat']}"),
            ("attributes", "/console/settings/contact-attributes"),
            ("companies", "/console/companies"),
            ("company", f"/console/companies/{p['company']}"),
            ("imports", "/console/contact-imports"),
            ("contacts", "/console/contacts"),
        ):
            await page.goto(f"{live_server.url}{path}")
            await shoot(page, f"{name}-{locale}")
        first_import = page.locator("#imports-table tbody tr a").first
        await page.goto(f"{live_server.url}/console/contact-imports")
        await first_import.click()
        await expect(page.locator("#import-status")).to_be_visible()
        await shoot(page, f"import-{locale}")
        # The merged banner, for the picture.
        if locale == "ko":
            from sodam.contacts import merge

            async with session_scope() as s:
                await merge.merge(s, workspace_id=ws.workspace_id, winner_id=p["mail"], loser_id=p["chat"])
                await s.commit()
        await page.goto(f"{live_server.url}/console/contacts/{p['mail']}")
        await shoot(page, f"contact-merged-{locale}")
