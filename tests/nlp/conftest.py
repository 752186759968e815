"""Slow NLP tests (real data sets, real training) run only with SODAM_SLOW_TESTS=1."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SODAM_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set SODAM_SLOW_TESTS=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
