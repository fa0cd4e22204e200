"""Shared fixtures of the STF tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=[False, True], ids=["readable", "fast"])
def fast(request: pytest.FixtureRequest) -> bool:
    """Every fill rule holds on the readable STF and on its optimised twin alike."""
    return bool(request.param)
