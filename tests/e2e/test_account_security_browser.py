"""In Chromium: an agent turns on two-step sign-in from 내 계정 (the QR code, the first code,
the recovery codes), signs out, signs in again with password + code, sees and ends another
session; an admin's sign-in security page. Screenshots (ko/en, desktop and 390 px) go to
.pytest_cache/screens/ for a person to look at."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.async_api import expect

from tests.e2e.test_privacy_browser import SIZES, set_locale, shoot, sign_in
from tests.test_console_helpers import console_client

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["ko", "en"])
async def test_two_step_sign_in_in_the_browser(live_server, make_workspace, new_context, locale):
    ws = await make_workspace()
    await set_locale(ws, locale)
    other_device = await console_client(live_server, ws.agent_email, ws.agent_password)
    context = await new_context(viewport=SIZES["desktop"])
    page = await context.new_page()
    await sign_in(page, live_server, ws)

    await page.locator("#nav-account").click()
    await expect(page).to_have_url(re.compile(r"/console/account$"))
    await page.wait_for_load_state("load")  # its deferred scripts have run
    await expect(page.locator("#sessions-table tbody tr")).to_have_count(2)
    await shoot(page, f"account-{locale}")
    await page.locator("#enrol-start button").click()
    await expect(page.locator("#enrol-qr svg")).to_be_visible()
    await shoot(page, f"account-enrol-{locale}")
    secret = (await page.locator("#enrol-secret").inner_text()).strip()
    await page.locator("#confirm-form input[name=code]").fill(pyotp.TOTP(secret).now())
    await page.locator("#confirm-form button").click()
    await expect(page.locator("#recovery-codes pre")).to_contain_text(re.compile(r"[a-z2-9]{4}-[a-z2-9]{4}"))
    await expect(page.locator("#two-factor-status")).to_be_visible()
    # Turning it on signed the other device out.
    await expect(page.locator("#sessions-table tbody tr")).to_have_count(1)
    assert (
        await other_device.get("/console/contacts", headers={"Accept": "application/json"})
    ).status_code == 401
    await other_device.aclose()
    await shoot(page, f"account-codes-{locale}")

    await page.locator("form[action='/console/logout'] button").click()
    await page.locator("input[name=email]").fill(ws.agent_email)
    await page.locator("input[name=password]").fill(ws.agent_password)
    await page.locator("form button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/console/login/verify$"))
    await shoot(page, f"login-verify-{locale}")
    await page.locator("input[name=code]").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.locator("#verify-form button").click()
    await expect(page).to_have_url(re.compile(r"/console$"))
    await context.close()


async def test_sign_in_security_settings_in_the_browser(live_server, make_workspace, new_context):
    ws = await make_workspace()
    context = await new_context(viewport=SIZES["desktop"])
    page = await context.new_page()
    await sign_in(page, live_server, ws)
    await page.goto(f"{live_server.url}/console/settings")
    await page.locator("#security-settings-link").click()
    await expect(page.locator("#security-form")).to_be_visible()
    await page.locator("textarea[name=allowed_email_domains]").fill("not a domain")
    await page.locator("#security-form button[type=submit]").click()
    await expect(page.locator("#form-error")).to_be_visible()
    await page.locator("textarea[name=allowed_email_domains]").fill("example.co.kr")
    await page.locator("input[name=password_min_length]").fill("12")
    await page.locator("#security-form button[type=submit]").click()
    await expect(page.locator("#security-saved")).to_be_visible()
    await expect(page.locator("#without-two-factor li")).to_have_count(1)
    await shoot(page, "security-settings-ko")
    await set_locale(ws, "en")
    await page.reload()
    await shoot(page, "security-settings-en")
    await context.close()
