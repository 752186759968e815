"""The browser fixtures of tests/e2e (Chromium, a customer's site on another origin)."""

from tests.e2e.conftest import browser, host_site, new_context  # noqa: F401
