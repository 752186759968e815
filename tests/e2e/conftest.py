"""Browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`), and a
customer's web page served from a different origin than Sodam."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Expectations return as soon as they hold; the ceiling only matters when a freshly started
# server is still warming up (the first delivery after start has been seen to take ~5 s).
expect.set_options(timeout=15_000)

# The customer's shop page. Its rude CSS must not reach the widget (Shadow DOM).
HOST_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>소담 쇼핑</title>
<style>
  * {{ font-family: serif !important; }}
  button {{ background: hotpink !important; border: 5px dotted lime !important; }}
  li, div, p {{ color: rgb(255, 0, 0) !important; }}
</style></head>
<body><h1>소담 쇼핑 — 고객센터</h1>
<script src="{sodam}/static/widget.js" data-sodam-inbox="{inbox}" async></script>
</body></html>"""


class HostSite:
    """A tiny web server on its own port: another origin than the Sodam server."""

    def __init__(self, sodam_url: str):
        sodam = sodam_url

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                query = parse_qs(urlsplit(self.path).query)
                inbox = html.escape(query.get("inbox", [""])[0], quote=True)
                body = HOST_PAGE.format(sodam=sodam, inbox=inbox).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        # "localhost" vs Sodam's "127.0.0.1": a different host as well as a different port.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page_url(self, inbox_token: str) -> str:
        return f"{self.origin}/?inbox={inbox_token}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def host_site(live_server):
    site = HostSite(live_server.url)
    yield site
    site.stop()


@pytest.fixture(scope="session")
async def browser():
    if not HAVE_CHROMIUM:
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def new_context(browser):
    """Fresh browser profiles (cookies, localStorage) per call; closed after the test."""
    contexts = []

    async def make(**kw):
        kw.setdefault("locale", "ko-KR")
        context = await browser.new_context(**kw)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()
