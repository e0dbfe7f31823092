"""A real headless browser for the report tests: Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (``apt-get install chromium``;
``.ci/run`` installs it). Where it is missing the browser tests skip, except under CI (``CI=true``), where they
fail: CI must not pass without having opened the page.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = os.environ.get("EVONAS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}: the browser tests cannot run (.ci/run installs chromium)")
    pytest.skip(reason)


def require_chromium() -> str:
    """The Chromium executable (skip, or fail under CI, when it is missing)."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


def launch(playwright):
    """Chromium from the system's packages, headless."""
    require_chromium()
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    return start()


class Page:
    """A browser page that records JavaScript errors and every request leaving the machine."""

    def __init__(self, browser, *, allowed_host: str | None = None) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error"
                     else None)

        def route(route):
            url = route.request.url
            if url.startswith(("file:", "data:", "blob:", "about:")) or (allowed_host and allowed_host in url):
                route.continue_()
            else:  # offline: nothing may be fetched from anywhere else
                self.outside.append(url)
                route.abort()

        self.page.route("**/*", route)

    def open(self, url: str) -> "Page":
        self.page.goto(url)
        self.page.wait_for_function("window.evonasReport !== undefined", timeout=30_000)
        return self

    def points(self, figure: str) -> int:
        """Markers Plotly drew in the figure ``figure`` (SVG points, all traces)."""
        return self.page.evaluate(f"document.querySelectorAll('#{figure} .scatterlayer .point').length")

    def screenshot_is_not_blank(self, path: Path) -> np.ndarray:
        from PIL import Image

        self.page.screenshot(path=str(path))
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=float)
        colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
        assert pixels.std() > 20 and colours > 50, f"{path} looks blank ({colours} colours, std {pixels.std():.1f})"
        return pixels
