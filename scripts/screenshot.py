"""The README's screenshot of the story browser: the sample feed served by a real server
process, shown in Debian's headless Chromium (no outside host reachable).

    python scripts/screenshot.py docs/story-browser.png
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from samples.make_sample_feed import feed
from tests.server import free_port, serve, wait_ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--path", default="/stories/1")
    args = parser.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory() as tmp:
        data, port = Path(tmp), free_port()
        base = f"http://127.0.0.1:{port}"
        proc = serve(data, port)
        try:
            wait_ready(base, proc)
            httpx.post(f"{base}/v1/articles", json=feed(), timeout=120).raise_for_status()
            options = webdriver.ChromeOptions()
            options.binary_location = "/usr/bin/chromium"
            for flag in (
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                f"--user-data-dir={data / 'profile'}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--window-size=1100,900",
            ):
                options.add_argument(flag)
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
            try:
                driver.get(base + args.path)
                driver.save_screenshot(str(args.out))
            finally:
                driver.quit()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
