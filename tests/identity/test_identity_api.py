"""Who and where over HTTP: a verified member is one contact on every device; an unverified or
forged hash never joins anyone; the widget's page reports reach the console's side panel with
the browser parsed from the User-Agent."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import httpx
import pytest

from sodam.channels import identity
from sodam.channels import service as inboxes
from sodam.db.session import session_scope
from tests.test_console_helpers import console_client, csrf_of

IPHONE_KAKAO = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Mobile/15E148 KAKAOTALK 10.4.5"
)
WHALE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Whale/3.24.223.21 Safari/537.36"
)


@pytest.fixture
async def client(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as c:
        yield c


async def secret_of(ws) -> str:
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        secret = await identity.rotate_secret(session, inbox)
        await session.commit()
        return secret


def signed(secret: str, member_id: str) -> str:
    return hmac.new(secret.encode(), member_id.encode(), hashlib.sha256).hexdigest()


async def boot(client, ws, member: dict, **body) -> dict:
    r = await client.post(
        f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko", "member": member, **body}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def say(client, ws, token: str, text: str) -> dict:
    r = await client.post(
        f"/widget/v1/{ws.inbox_token}/messages",
        json={"content": text, "client_id": str(uuid.uuid4())},
        headers={"X-Sodam-Visitor": token},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_verified_member_is_one_contact_on_two_devices(client, make_workspace):
    ws = await make_workspace()
    secret = await secret_of(ws)
    member = {
        "member_id": "user-42",
        "name": "김민지",
        "email": "minji@example.com",
        "attributes": {"plan": "pro"},
    }
    phone = await boot(client, ws, {**member, "hash": signed(secret, "user-42")})
    assert phone["verified"] is True
    first = await say(client, ws, phone["visitor_token"], "휴대폰에서 보낸 문의입니다")
    # Another device, another browser: no token, the same member.
    laptop = await boot(client, ws, {**member, "hash": signed(secret, "user-42").upper()})
    assert laptop["contact_id"] == phone["contact_id"]
    assert laptop["conversation_id"] == first["conversation_id"]
    history = await client.get(
        f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": laptop["visitor_token"]}
    )
    assert [m["content"] for m in history.json()["messages"]] == ["휴대폰에서 보낸 문의입니다"]

    # A forged hash with the same member id: a new, anonymous contact, nothing shared.
    forged = await boot(client, ws, {**member, "hash": signed("not-the-secret", "user-42")})
    assert forged["verified"] is False and forged["contact_id"] != phone["contact_id"]
    assert forged["conversation_id"] is None
    none = await client.get(
        f"/widget/v1/{ws.inbox_token}/messages", headers={"X-Sodam-Visitor": forged["visitor_token"]}
    )
    assert none.json()["messages"] == []
    # No hash at all, even holding the member's visitor token: never the member's contact.
    stolen = await boot(client, ws, member, visitor_token=phone["visitor_token"])
    assert stolen["verified"] is False and stolen["contact_id"] not in (
        phone["contact_id"],
        forged["contact_id"],
    )
    # A hash for another member id does not verify this one.
    other = await boot(client, ws, {**member, "member_id": "user-43", "hash": signed(secret, "user-42")})
    assert other["verified"] is False and other["contact_id"] != phone["contact_id"]

    # The secret is rotated: the old hash stops working.
    await secret_of(ws)
    old = await boot(client, ws, {**member, "hash": signed(secret, "user-42")})
    assert old["verified"] is False and old["contact_id"] != phone["contact_id"]

    api = {"Authorization": f"Bearer {ws.api_token}"}
    contact = (await client.get(f"/api/v1/contacts/{phone['contact_id']}", headers=api)).json()
    assert contact["name"] == "김민지" and contact["email"] == "minji@example.com"
    assert contact["custom_attributes"]["plan"] == "pro"
    assert contact["custom_attributes"]["member_id"] == "user-42"
    claimed = (await client.get(f"/api/v1/contacts/{forged['contact_id']}", headers=api)).json()
    assert claimed["custom_attributes"]["unverified_member_id"] == "user-42"
    assert "member_id" not in claimed["custom_attributes"]


async def test_without_a_secret_nobody_is_verified(client, make_workspace):
    ws = await make_workspace()
    a = await boot(client, ws, {"member_id": "u1", "hash": "00" * 32})
    b = await boot(client, ws, {"member_id": "u1", "hash": "00" * 32})
    assert not a["verified"] and not b["verified"] and a["contact_id"] != b["contact_id"]


async def test_pages_of_the_visit_show_in_the_side_panel(client, live_server, make_workspace):
    ws = await make_workspace()
    r = await client.post(f"/widget/v1/{ws.inbox_token}/session", json={"locale": "ko"})
    token = r.json()["visitor_token"]
    headers = {"X-Sodam-Visitor": token, "User-Agent": IPHONE_KAKAO}
    visit = str(uuid.uuid4())
    for url, title in [
        ("https://shop.example.com/", "소담 쇼핑"),
        ("https://shop.example.com/products/42", "무선 이어폰"),
        ("https://shop.example.com/products/42", "무선 이어폰"),  # the same page again: once
        ("https://shop.example.com/cart#step2", "장바구니"),
    ]:
        r = await client.post(
            f"/widget/v1/{ws.inbox_token}/pages",
            json={
                "visit_id": visit,
                "url": url,
                "title": title,
                "referrer": "https://search.naver.com/search?q=이어폰",
            },
            headers=headers,
        )
        assert r.status_code == 204, r.text
    bad = await client.post(
        f"/widget/v1/{ws.inbox_token}/pages",
        json={"visit_id": visit, "url": "javascript:alert(1)", "title": "x"},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_url"
    assert (
        await client.post(
            f"/widget/v1/{ws.inbox_token}/pages", json={"visit_id": visit, "url": "https://a.b/"}
        )
    ).status_code == 401
    message = await say(client, ws, token, "이어폰 재고 있나요?")
    agent = await console_client(live_server, ws.agent_email, ws.agent_password)
    try:
        page = await agent.get(f"/console/conversations/{message['conversation_id']}")
        text = page.text
        panel = text[text.index('id="visit-panel"') :]
        assert "장바구니" in panel[: panel.index("visit-referrer")]
        assert "https://search.naver.com/search?q=이어폰" in panel
        assert "KakaoTalk" in panel and "iOS 17.2" in panel and "휴대폰" in panel
        pages = panel[panel.index('id="visit-pages"') : panel.index("</ol>")]
        assert pages.count("<li>") == 3 and pages.index("장바구니") < pages.index("무선 이어폰")
        # The secret is shown on the inbox's settings and rotates from there.
        settings = await agent.get(f"/console/settings/inboxes/{ws.inbox_id}")
        assert 'id="identity-off"' in settings.text
        rotated = await agent.post(
            f"/console/settings/inboxes/{ws.inbox_id}/identity",
            data={"action": "rotate", "csrf_token": csrf_of(agent)},
        )
        assert rotated.status_code == 200 and 'id="identity-secret"' in rotated.text
    finally:
        await agent.aclose()
    headers["User-Agent"] = WHALE
    await client.post(
        f"/widget/v1/{ws.inbox_token}/pages",
        json={"visit_id": str(uuid.uuid4()), "url": "https://shop.example.com/me", "title": "내 정보"},
        headers=headers,
    )
    async with session_scope() as session:
        from sodam.contacts import visits

        latest = await visits.latest_visit(
            session, workspace_id=ws.workspace_id, contact_id=message["sender_id"]
        )
    assert (
        latest.current.browser == "Whale 3" and latest.current.os == "Windows 10" and len(latest.pages) == 1
    )
    assert latest.referrer is None
