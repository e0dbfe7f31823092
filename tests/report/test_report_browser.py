"""The report in a real headless browser (Chromium): it loads without JavaScript errors and without the network,
draws one point per row of history.csv, is not blank, shows an architecture on click, and the served page follows
a running search."""
from __future__ import annotations

import csv
import threading
import time

import numpy as np
import pytest

from evonas.report import write_report
from evonas.report.serve import ReportSource, make_server
from tests.report.browser import Page, launch, sync_playwright
from tests.report.conftest import nb201_search

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples"


def rows(run_dir) -> int:
    """Rows of ``history.csv`` (0 before it exists)."""
    if not (run_dir / "history.csv").is_file():
        return 0
    with open(run_dir / "history.csv", newline="") as handle:
        return len(list(csv.DictReader(handle)))


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def test_report_of_one_run_draws_every_evaluation_offline(browser, nb201_runs, tmp_path):
    run_dir = nb201_runs[0]
    page = Page(browser).open(write_report([run_dir], tmp_path / "report.html").as_uri())
    assert page.points("front-0") == rows(run_dir) > 0
    assert page.page.locator("#run-0 .status").inner_text() == "finished"
    page.screenshot_is_not_blank(tmp_path / "report.png")
    assert page.errors == [] and page.outside == []


def test_several_runs_side_by_side(browser, nb201_runs, tmp_path):
    page = Page(browser).open(write_report(list(nb201_runs), tmp_path / "both.html").as_uri())
    assert page.points("overlay") == sum(rows(r) for r in nb201_runs) + sum(
        len(page.page.evaluate(f"window.evonasReport.data.runs[{k}].figures[0].figure.data.at(-1).x"))
        for k in range(2))  # every evaluation once, the front's points once more on its line
    for k, run_dir in enumerate(nb201_runs):
        assert page.points(f"front-{k}") == rows(run_dir)
    table = page.page.locator("section.comparison table").inner_text()
    assert "nsga2" in table and "random" in table and "hypervolume" in table
    assert page.errors == [] and page.outside == []


def test_clicking_a_front_point_shows_its_cell_and_train_line(browser, darts_run, tmp_path):
    page = Page(browser).open(write_report([darts_run], tmp_path / "darts.html").as_uri())
    assert page.points("front-0") == rows(darts_run)
    page.page.locator("#front-0 .scatterlayer .trace:last-child .point").first.click(force=True)
    details = page.page.locator("#details-0")
    assert details.locator("img").get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert page.page.evaluate("document.querySelector('#details-0 img').naturalWidth") > 100  # the image decodes
    line = details.locator("textarea").input_value()
    assert line.startswith("evonas train --space darts --genotype ")
    from evonas.cli import build_parser

    assert build_parser().parse_args(__import__("shlex").split(line)[1:]).arch  # a line `evonas train` parses
    assert page.errors == [] and page.outside == []


def test_served_page_follows_a_running_search(browser, tmp_path):
    run_dir = tmp_path / "live"
    # the search writes its run directory every generation and holds still (running, its files unchanged) from
    # the first generation that finds 20 rows written until the page has been checked: on a slow machine the
    # page may take longer to load than the whole search takes
    paused, resume = threading.Event(), threading.Event()

    def slow(generation, state):  # a search slow enough to watch
        if not resume.is_set() and rows(run_dir) >= 20:
            paused.set()
            resume.wait(300)
        time.sleep(0.1)

    search = threading.Thread(target=nb201_search, args=(run_dir, "nsga2"),
                              kwargs={"budget": 150, "pop_size": 10, "callbacks": [slow], "checkpoint_every": 0})
    search.start()
    server = make_server(ReportSource([run_dir], refresh=0.3), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    drawn = "document.querySelectorAll('#front-0 .scatterlayer .point').length"
    try:
        assert paused.wait(120), "the search wrote no history"
        page = Page(browser, allowed_host=url).open(url)
        first = page.page.evaluate("window.evonasReport.data.runs[0].points.length")
        assert page.page.locator("#run-0 .status").inner_text() == "running"
        assert page.points("front-0") == first > 0
        page.screenshot_is_not_blank(tmp_path / "live.png")
        resume.set()
        page.page.wait_for_function(f"window.evonasReport.data.runs[0].points.length > {first}", timeout=60_000)
        search.join(120)
        assert not search.is_alive()
        page.page.wait_for_function("window.evonasReport.data.runs[0].status === 'finished'", timeout=60_000)
        try:  # the redraw after the data arrived
            page.page.wait_for_function(f"{drawn} === window.evonasReport.data.runs[0].points.length",
                                        timeout=30_000)
        except Exception:  # playwright's TimeoutError: the assertion below says what differs
            pass
        assert page.points("front-0") == rows(run_dir) >= 150
        assert page.page.evaluate("window.evonasReport.builds") >= 2  # redrawn, not reloaded
        assert page.errors == [] and page.outside == []
    finally:
        resume.set()
        server.shutdown()
        server.server_close()
        search.join(120)


def test_the_readme_screenshot_command(nb201_runs, tmp_path):
    """``examples/report_screenshot.py`` (it made docs/img/report.png) runs and saves a full view."""
    import subprocess
    import sys

    from PIL import Image

    from tests.report.browser import require_chromium

    sync_playwright()  # playwright installed (else: skip, or fail under CI)
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "report_screenshot.py"), *map(str, nb201_runs), "--out",
                           str(out), "--chromium", require_chromium()], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pixels = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    assert pixels.shape[:2] == (1100, 1280) and pixels.std() > 20
    assert not (tmp_path / "shot.html").exists()
