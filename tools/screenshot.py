"""Render an HTML page (e.g. a catalog's index.html) to PNG with headless Chromium.

    python tools/screenshot.py /tmp/catalog/index.html /tmp/catalog.png [--width 1280 --height 700]

Needs Debian's chromium (apt-get install chromium). Network is disabled for the browser.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=700)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", f"--window-size={args.width},{args.height}",
                f"--screenshot={args.png.resolve()}", args.page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
    print(f"wrote {args.png} ({args.png.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
