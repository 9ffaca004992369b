"""A real browser on the real app: Debian's chromium driven by Playwright (never `playwright install`).

The test installs chromium with apt-get when it is missing and we are root (a fresh CI machine);
the screenshots are kept under artifacts/ for a person to look at.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def chromium():
    pytest.importorskip("playwright")
    if not Path(CHROMIUM).exists():
        if not (shutil.which("apt-get") and os.geteuid() == 0):
            pytest.skip("Debian's chromium is missing and cannot be installed here (needs root and apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=900)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, text=True, env=env, timeout=1800
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return CHROMIUM


@pytest.fixture
def page(chromium, app_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server[0])
        page.wait_for_selector("#run-caption", timeout=60_000)
        yield page
        browser.close()


def test_caption_an_example_in_the_browser(page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app_start.png"), full_page=True)
    assert "Tweedie" in page.inner_text("h1") and "Gaussian noise" in page.content()
    page.locator(".gallery-item, .examples button, [data-testid='examples'] button").first.click()
    page.wait_for_selector("#input-caption img", timeout=30_000)  # the example is in the input
    page.click("#run-caption")
    page.wait_for_function(
        "() => (document.querySelector('#sentence-caption')?.innerText || '').includes('step 20 / 20')",
        timeout=60_000,
    )
    page.wait_for_selector("#heatmap-caption .js-plotly-plot", timeout=30_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "app_caption.png"), full_page=True)
    words = page.locator("#sentence-caption .tdd-tok").all_inner_texts()
    assert len(words) == 16 and any(w.strip() not in ("·", "") for w in words)
    assert "Candidates for token" in page.inner_text("#heatmap-caption")
    assert "first step shown after" in page.inner_text("#timing-caption")


def test_classify_tab_in_the_browser(page):
    page.get_by_role("tab", name="Classify").click()
    page.locator("#run-classify").wait_for()
    examples = page.locator(".gallery-item:visible, .examples button:visible")
    examples.nth(7).click()  # examples are sorted: digit_0..digit_9, then drawn_*; this is digit_7
    page.wait_for_selector("#input-classify img", timeout=30_000)
    page.click("#run-classify")
    page.wait_for_function(
        "() => (document.querySelector('#sentence-classify')?.innerText || '').includes('step 20 / 20')",
        timeout=60_000,
    )
    page.screenshot(path=str(ARTIFACTS / "app_classify.png"), full_page=True)
    assert "class 7" in page.inner_text("#sentence-classify")
