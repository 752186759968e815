"""Files in Chromium: an image sent from the widget shows in the console and one sent back shows
in the widget; too large, executable and disguised files are refused with a clear message on
both sides."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.attachments.files import EXE, png

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screens"


async def sign_in(page, server, ws):
    await page.goto(f"{server.url}/console/login")
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("button[type=submit]").click()
    await expect(page).to_have_url(f"{server.url}/console")
    # The URL changes before the page's deferred scripts run; a key pressed then does nothing.
    await page.wait_for_load_state("load")


async def loaded(img) -> bool:
    return await img.evaluate("i => i.complete && i.naturalWidth > 0")


async def test_an_image_goes_from_the_widget_to_the_console_and_back(
    live_server, new_context, host_site, make_workspace
):
    ws = await make_workspace(allowed_origins=[host_site.origin], company_name="소담 쇼핑")
    SCREENS.mkdir(parents=True, exist_ok=True)
    widget = await (await new_context(viewport={"width": 390, "height": 760})).new_page()
    await widget.goto(host_site.page_url(ws.inbox_token))
    await widget.locator("#sodam-launcher").click()
    await widget.locator("#sodam-input").fill("주문한 상품 사진입니다")
    await widget.locator("#sodam-input").press("Enter")
    await expect(widget.locator("#sodam-messages .msg.mine[data-status=sent]")).to_have_count(1)
    await widget.locator("#sodam-file").set_input_files(
        files=[{"name": "파손 사진.png", "mimeType": "image/png", "buffer": png(40, 30, (220, 60, 60))}]
    )
    mine = widget.locator("#sodam-messages .msg.mine").last
    await expect(mine).to_have_attribute("data-status", "sent")
    img = mine.locator(".file-image img")
    await expect(img).to_have_attribute("src", lambda_src := __import__("re").compile(r"^blob:"))
    assert await loaded(img)

    console = await (await new_context(viewport={"width": 1280, "height": 800})).new_page()
    await sign_in(console, live_server, ws)
    await console.locator("#conversation-list .conv-row").first.click()
    incoming = console.locator("#messages .msg-incoming .att-image img")
    await expect(incoming).to_have_count(1)
    await expect(incoming).to_have_attribute("alt", "파손 사진.png")
    await console.wait_for_function(
        "() => { const i = document.querySelector('#messages .msg-incoming .att-image img'); return i && i.complete && i.naturalWidth === 40; }"
    )
    # The preview of the list says a file came.
    await expect(console.locator("#conversation-list .conv-row .row-preview").first).to_contain_text(
        "파손 사진.png"
    )

    # Back: the agent attaches an image and a PDF (button), sends with Enter and no text.
    await console.locator("#reply-file-input").set_input_files(
        files=[
            {"name": "교환 안내.png", "mimeType": "image/png", "buffer": png(24, 24, (40, 160, 80))},
            {"name": "반품 신청서.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"},
        ]
    )
    await expect(console.locator("#reply-files .reply-file[data-attachment-id]")).to_have_count(2)
    await console.locator("#reply-box").press("Enter")
    out = console.locator("#messages .msg-outgoing").last
    await expect(out.locator(".att-image img")).to_have_count(1)
    await expect(out.locator(".att-file .att-name")).to_have_text("반품 신청서.pdf")
    await expect(console.locator("#reply-files .reply-file")).to_have_count(0)
    await console.screenshot(path=str(SCREENS / "attachments-console-ko-1280.png"))

    agent_msg = widget.locator("#sodam-messages .msg.agent").last
    await expect(agent_msg.locator(".file-image img")).to_have_attribute("src", lambda_src)
    await widget.wait_for_function(
        "() => { const r = document.querySelector('#sodam-widget').shadowRoot;"
        " const i = [...r.querySelectorAll('.msg.agent .file-image img')].pop(); return i && i.complete && i.naturalWidth === 24; }"
    )
    await expect(agent_msg.locator(".file-card .file-name")).to_have_text("반품 신청서.pdf")
    await widget.screenshot(path=str(SCREENS / "attachments-widget-ko-390.png"))


async def test_too_large_and_executable_files_are_refused_with_a_clear_message(
    live_server, new_context, host_site, make_workspace
):
    ws = await make_workspace(allowed_origins=[host_site.origin])
    widget = await (await new_context()).new_page()
    await widget.goto(host_site.page_url(ws.inbox_token))
    await widget.locator("#sodam-launcher").click()
    error = widget.locator("#sodam-error")
    # One byte over the 20 MiB limit; it crosses Playwright's pipe base64-encoded: on a busy
    # machine that took over the default 10 s (the upload itself is refused before it starts).
    await widget.locator("#sodam-file").set_input_files(
        files=[{"name": "영상.mp4", "mimeType": "video/mp4", "buffer": b"\x00" * (20 * 1024 * 1024 + 1)}],
        timeout=60_000,
    )
    await expect(error).to_have_text("파일이 너무 큽니다. 20MB까지 보낼 수 있습니다.")
    await widget.locator("#sodam-file").set_input_files(
        files=[{"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": EXE}]
    )
    await expect(error).to_have_text("실행 파일이나 스크립트는 보안을 위해 보낼 수 없습니다.")
    # Renamed to look like a photo: the server reads the bytes and says no, in words.
    await widget.locator("#sodam-file").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": EXE}]
    )
    await expect(error).to_have_text("실행 파일이나 스크립트는 보안을 위해 보낼 수 없습니다.")
    await expect(widget.locator("#sodam-messages .msg.mine")).to_have_count(0)

    # The console, in English: the server's refusal in the agent's language.
    widget_en = await (await new_context(locale="en-US")).new_page()
    await widget_en.goto(host_site.page_url(ws.inbox_token))
    await widget_en.locator("#sodam-launcher").click()
    await widget_en.locator("#sodam-input").fill("hello")
    await widget_en.locator("#sodam-input").press("Enter")
    await expect(widget_en.locator("#sodam-messages .msg.mine[data-status=sent]")).to_have_count(1)
    await widget_en.locator("#sodam-file").set_input_files(
        files=[{"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": EXE}]
    )
    await expect(widget_en.locator("#sodam-error")).to_have_text(
        "Programs and scripts cannot be sent, for security."
    )
    console = await (await new_context()).new_page()
    await sign_in(console, live_server, ws)
    await console.locator("#conversation-list .conv-row").first.click()
    # The conversation is swapped in by htmx: a file chosen in the old reply box would be lost.
    await expect(console.locator("#conversation[data-conversation-id]")).to_have_count(1)
    await console.wait_for_load_state("networkidle")
    await console.locator("#reply-file-input").set_input_files(
        files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": EXE}]
    )
    await expect(console.locator("#reply-error")).to_have_text(
        "실행 파일, 스크립트, 웹 페이지는 보안을 위해 보낼 수 없습니다."
    )
    await expect(console.locator("#reply-files .reply-file")).to_have_count(0)
