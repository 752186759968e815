"""Who and where in Chromium: a member verified by the host site sees one history on two
browsers (two devices), a forged hash gets a contact of its own, and the console's side
panel shows the page the visitor is on, including single-page-app navigations."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from sodam.channels import identity
from sodam.channels import service as inboxes
from sodam.db.session import session_scope

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"

PAGE = """<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>소담 쇼핑 · 내 주문</title></head>
<body><h1>내 주문</h1>
<button id="to-product" onclick="history.pushState({{}}, '', '/products/7'); document.title = '무선 이어폰';">상품 보기</button>
<script>
  window.Sodam = window.Sodam || function () {{ (Sodam.q = Sodam.q || []).push(arguments); }};
  {boot}
</script>
<script src="{sodam}/static/widget.js" data-sodam-inbox="{inbox}" async></script>
</body></html>"""


class MemberSite:
    """The company's site: its server signs the member id and boots the widget with it."""

    def __init__(self, sodam_url: str):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                q = parse_qs(urlsplit(self.path).query)
                member = q.get("member", [""])[0]
                boot = ""
                if member:
                    params = {"memberId": member, "name": "김민지", "email": "minji@example.com"}
                    if q.get("hash"):
                        params["hash"] = q["hash"][0]
                    boot = f"Sodam('boot', {json.dumps(params, ensure_ascii=False)});"
                body = PAGE.format(
                    sodam=sodam_url, inbox=html.escape(site.inbox, quote=True), boot=boot
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.inbox = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def member_site(live_server):
    site = MemberSite(live_server.url)
    yield site
    site.stop()


async def open_chat(context, url: str):
    page = await context.new_page()
    await page.goto(url)
    await page.locator("#sodam-launcher").click()
    await expect(page.locator("#sodam-panel")).to_be_visible()
    return page


async def send(page, text: str):
    await page.locator("#sodam-input").fill(text)
    await page.locator("#sodam-input").press("Enter")


async def test_one_member_two_browsers_one_history_and_a_forged_hash_alone(
    live_server, new_context, member_site, make_workspace
):
    ws = await make_workspace(allowed_origins=[member_site_origin := member_site.origin])
    member_site.inbox = ws.inbox_token
    async with session_scope() as session:
        inbox = await inboxes.get(session, workspace_id=ws.workspace_id, inbox_id=ws.inbox_id)
        secret = await identity.rotate_secret(session, inbox)
        await session.commit()
    good = hmac.new(secret.encode(), b"member-7", hashlib.sha256).hexdigest()

    phone = await open_chat(
        await new_context(viewport={"width": 390, "height": 760}),
        f"{member_site_origin}/?member=member-7&hash={good}",
    )
    await send(phone, "휴대폰에서 문의드립니다")
    await expect(phone.locator("#sodam-messages .msg.mine[data-status=sent]")).to_have_count(1)

    laptop = await open_chat(await new_context(), f"{member_site_origin}/?member=member-7&hash={good}")
    await expect(laptop.locator("#sodam-messages .msg.mine .msg-body")).to_have_text(
        ["휴대폰에서 문의드립니다"]
    )
    await send(laptop, "노트북에서 이어서 씁니다")
    # Both browsers show the whole conversation, live.
    await expect(phone.locator("#sodam-messages .msg.mine .msg-body")).to_have_text(
        ["휴대폰에서 문의드립니다", "노트북에서 이어서 씁니다"]
    )

    forged = await open_chat(await new_context(), f"{member_site_origin}/?member=member-7&hash={'0' * 64}")
    await send(forged, "저도 민지입니다")
    await expect(forged.locator("#sodam-messages .msg.mine .msg-body")).to_have_text(["저도 민지입니다"])
    await expect(phone.locator("#sodam-messages .msg.mine")).to_have_count(2)

    # The side panel: a verified member, the page and the SPA navigation.
    await laptop.locator("#to-product").click()
    console = await (await new_context(viewport={"width": 1280, "height": 800})).new_page()
    await console.goto(f"{live_server.url}/console/login")
    await console.locator("input[name=email]").fill(ws.agent_email)
    await console.locator("input[name=password]").fill(ws.agent_password)
    await console.locator("button[type=submit]").click()
    rows = console.locator("#conversation-list .conv-row")
    await expect(rows).to_have_count(2)
    member_row = rows.filter(has_text="김민지").filter(has_text="노트북에서")
    await member_row.click()
    await expect(console.locator("#visit-verified")).to_contain_text("member-7")
    await expect(console.locator("#messages .msg-incoming .msg-body")).to_have_text(
        ["휴대폰에서 문의드립니다", "노트북에서 이어서 씁니다"]
    )
    # The SPA navigation arrives shortly after the click: reopen until it is there.
    for _ in range(20):
        if "무선 이어폰" in (await console.locator("#visit-current").inner_text()):
            break
        await console.wait_for_timeout(250)
        await console.reload()
    await expect(console.locator("#visit-current")).to_contain_text("무선 이어폰")
    await expect(console.locator("#visit-pages li")).to_have_count(2)
    await expect(console.locator("#visit-browser")).to_contain_text("Chrome")
    SCREENS.mkdir(parents=True, exist_ok=True)
    await console.screenshot(path=str(SCREENS / "visit-panel-ko-1280.png"))
    forged_row = rows.filter(has_text="저도 민지입니다")
    await forged_row.click()
    await expect(console.locator("#visit-unverified")).to_contain_text("member-7")
    await expect(console.locator("#messages .msg-incoming .msg-body")).to_have_text(["저도 민지입니다"])
