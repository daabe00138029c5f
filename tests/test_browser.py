"""The story browser and /docs in a real headless Chromium (Debian's chromium and
chromium-driver), against a real server process, with every outside host unreachable."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from samples.make_sample_feed import feed
from tests.server import free_port, serve, wait_ready

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PLANTED = "<script>window.planted=1</script>"


def _missing() -> str | None:
    for path in (CHROMIUM, DRIVER):
        if not os.path.exists(path):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    if shutil.which("chromium") is None and not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not executable"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served store holding the sample feed, with a planted script in a title, in a
    caption and in a body."""
    data = tmp_path_factory.mktemp("browser-data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(data, port)
    try:
        wait_ready(base, proc)
        rows: list[dict[str, Any]] = feed()
        rows[0] = {**rows[0], "title": f"{PLANTED} {rows[0]['title']}"}
        rows[2] = {
            **rows[2],
            "captions": [PLANTED],
            "text": f"{rows[2]['text']}\n\n{PLANTED}\n\n{PLANTED}",
        }
        answer = httpx.post(f"{base}/v1/articles", json=rows, timeout=120)
        assert answer.status_code == 200, answer.text
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never fetch a driver or a browser build
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        # no network but this machine: any other host fails to resolve
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _no_planted_script_ran(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    assert driver.find_elements(By.TAG_NAME, "script") == []
    assert driver.execute_script("return window.planted === undefined")


def test_pages_links_and_the_match_form(site: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{site}/")
    browser.save_screenshot(str(tmp_path / "stories.png"))
    assert "Stories" in browser.title
    _no_planted_script_ran(browser)
    links = browser.find_elements(By.CSS_SELECTOR, "ol.stories a.title")
    assert len(links) == 5
    # the planted title shows as text, escaped, in the story it titles or lists
    bridge = next(a for a in links if "Bridge" in a.text or "bridge" in a.text)
    bridge.click()
    WebDriverWait(browser, 30).until(seen.url_contains("/stories/"))
    browser.save_screenshot(str(tmp_path / "story.png"))
    _no_planted_script_ran(browser)
    assert PLANTED in browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_elements(By.CSS_SELECTOR, "svg.spark polyline")
    browser.find_element(By.LINK_TEXT, "Halvard Bridge closing on Monday").click()
    WebDriverWait(browser, 30).until(seen.url_contains("/articles/bridge-wire-3"))
    browser.save_screenshot(str(tmp_path / "article.png"))
    _no_planted_script_ran(browser)
    marks = browser.find_elements(By.CSS_SELECTOR, ".text mark")
    assert {m.get_attribute("class") for m in marks} >= {"repeated_caption"}
    assert PLANTED in {m.text for m in marks}
    assert "near_copy" in browser.find_element(By.CSS_SELECTOR, "dl.evidence").text
    for sort in ("recent", "rising"):
        browser.find_element(By.LINK_TEXT, "Stories").click()
        WebDriverWait(browser, 30).until(seen.url_matches(r"/$"))
        browser.find_element(By.CSS_SELECTOR, f"a[href='/?sort={sort}']").click()
        WebDriverWait(browser, 30).until(seen.url_contains(f"sort={sort}"))
        assert len(browser.find_elements(By.CSS_SELECTOR, "ol.stories li")) == 5
    # paste a write-up of the bridge story and match it
    browser.find_element(By.ID, "title").send_keys("Riverton bridge shut for weeks")
    browser.find_element(By.ID, "text").send_keys(
        "Riverton will shut the Halvard Bridge for six weeks after inspectors found corroded "
        "support cables, leaving drivers to face long detours, the city said."
    )
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(browser, 60).until(seen.url_matches(r"/match$"))
    browser.save_screenshot(str(tmp_path / "match.png"))
    body = browser.find_element(By.TAG_NAME, "main").text
    assert "would join" in body and "Not a copy of any stored text." in body
    stored = httpx.get(f"{site}/v1/stories", timeout=30).json()["stories"]
    assert sum(s["articles"] for s in stored) == len(feed())  # matching stored nothing
    for name in ("stories", "story", "article", "match"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5000


def test_pages_read_on_a_phone(site: str, browser: Any, tmp_path: Path) -> None:
    browser.set_window_size(390, 844)
    try:
        for path in ("/", "/stories/1", "/articles/bridge-wire-3", "/match"):
            browser.get(site + path)
            wide = browser.execute_script("return document.documentElement.scrollWidth")
            seen = browser.execute_script("return window.innerWidth")
            assert wide <= seen, f"{path} scrolls sideways on a phone ({wide} > {seen})"
        browser.save_screenshot(str(tmp_path / "phone.png"))
    finally:
        browser.set_window_size(1280, 900)


def test_docs_render_with_no_network(site: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{site}/docs")
    WebDriverWait(browser, 30).until(
        seen.presence_of_all_elements_located((By.CSS_SELECTOR, ".opblock"))
    )
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    paths = {o.text.replace("\u200b", "") for o in operations}
    assert {"/v1/articles", "/v1/match", "/v1/stories"} <= paths
    browser.save_screenshot(str(tmp_path / "docs.png"))
    assert (tmp_path / "docs.png").stat().st_size > 5000
