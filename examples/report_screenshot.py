"""The README's screenshot of ``evonas report``: the main job's report opened in headless Chromium, one front
point clicked.

Run the main job first (``python examples/nb201_search.py``), then:

    python examples/report_screenshot.py                       # writes docs/img/report.png

It needs Chromium from the system's packages (``apt-get install chromium``) and Playwright
(``pip install -e ".[dev]"``), which drives that browser (it downloads none).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from evonas.report import write_report

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def screenshot(run_dirs, out: Path, *, chromium: str = "/usr/bin/chromium", width: int = 1280,
               height: int = 1100) -> Path:
    """Write the report of ``run_dirs`` beside ``out`` and save the browser's view of it, the most accurate front
    point of the first run clicked, as the PNG ``out``."""
    from playwright.sync_api import sync_playwright

    page_path = write_report(run_dirs, out.with_suffix(".html"), title="evonas report: NAS-Bench-201, NSGA-II and "
                             "random search")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(page_path.resolve().as_uri())
        page.wait_for_function("window.evonasReport !== undefined")
        page.evaluate("""() => {
            const run = window.evonasReport.data.runs[0];
            const front = run.figures[0].figure.data.at(-1);
            window.evonasReport.showPoint(0, front.customdata.at(-1)[1]);
            document.getElementById('run-0').scrollIntoView();
        }""")
        page.wait_for_timeout(500)
        page.screenshot(path=str(out))
        browser.close()
    page_path.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="*", default=["runs/nb201_search/nsga2", "runs/nb201_search/random"])
    parser.add_argument("--out", default="docs/img/report.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    print(f"screenshot: {screenshot(args.run_dirs, Path(args.out), chromium=args.chromium)}")


if __name__ == "__main__":
    main()
