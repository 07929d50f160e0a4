"""The distribution's Chromium, driven by Playwright (never a browser Playwright downloads):
found the way .ci/install-chromium.sh finds it; without it the browser tests are skipped,
except in CI (``CI`` set), where they fail: a skip must not hide a missing install."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from tests.installed import missing

INSTALL = ".ci/install-chromium.sh"
SCREENS = Path(__file__).resolve().parents[2] / "out" / "console-screens"
"""Where the tests leave a screenshot of each view, for a human to look at."""


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing(f"no Chromium found; {INSTALL} installs the distribution's package")
    return found


@contextlib.contextmanager
def chromium(executable: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot_path(name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS / f"{name}.png"
