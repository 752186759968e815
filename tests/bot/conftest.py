"""Fixtures shared by the bot tests."""

from tests.bot.test_bot_flow import chat  # noqa: F401  (a customer conversation in a bot inbox)
