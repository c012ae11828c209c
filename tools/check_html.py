#!/usr/bin/env python3
"""Open an HTML page (the report's ``report.html``) in headless Chromium and check it as a
reader would see it: every image loaded (its natural width is not 0), no element wider than
the window (nothing cut off or forcing a sideways scroll), and screenshots of the top and of
the side-by-side section.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package, none of them
a dependency of the project: run it from an environment of its own, e.g.::

    python3 -m venv /tmp/browser && /tmp/browser/bin/pip install selenium
    /tmp/browser/bin/python tools/check_html.py results/paper/report/report.html --shots /tmp/shots

Exit status 1 when an image failed to load or something is cut off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHECK = """
const width = document.documentElement.clientWidth;
const imgs = Array.from(document.images);
const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 60));
const wide = [];
for (const el of document.querySelectorAll('img, table, figure, .pair, .side, embed')) {
  const r = el.getBoundingClientRect();
  if (r.right > width + 1) wide.push(el.tagName + ' ' + (el.alt || el.className || '') + ' ' + Math.round(r.right));
}
const clipped = imgs.filter(i => i.naturalWidth > 0 && i.clientWidth < 20).map(i => i.alt);
return {images: imgs.length, broken: broken, wide: wide.slice(0, 20), n_wide: wide.length,
        clipped: clipped, scroll_width: document.documentElement.scrollWidth, width: width};
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--shots", type=Path, help="folder for screenshots")
    args = ap.parse_args(argv)

    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={args.width},1000",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get(args.html.resolve().as_uri())
        result = driver.execute_script(CHECK)
        if args.shots:
            args.shots.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.shots / "top.png"))
            for i, el in enumerate(driver.find_elements("css selector", ".pair")[:3]):
                driver.execute_script("arguments[0].scrollIntoView();", el)
                driver.save_screenshot(str(args.shots / f"pair{i}.png"))
    finally:
        driver.quit()
    print(
        f"{args.html}: {result['images']} images, {len(result['broken'])} not loaded, "
        f"{result['n_wide']} elements wider than the window ({result['width']} px; page "
        f"{result['scroll_width']} px wide), {len(result['clipped'])} images shown under 20 px"
    )
    for name in result["broken"]:
        print(f"  not loaded: {name}")
    for what in result["wide"]:
        print(f"  too wide: {what}")
    bad = result["broken"] or result["n_wide"] or result["clipped"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
