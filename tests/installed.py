"""Tests that need a program the machine may lack (a PostgreSQL server, Chromium)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """Skip, except in CI (``CI`` set), where it fails: a skip must not hide a missing install."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
