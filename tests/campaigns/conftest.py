"""The browser fixtures of tests/e2e (real Chromium), for the campaign browser tests here."""

from tests.e2e.conftest import browser, host_site, new_context  # noqa: F401
