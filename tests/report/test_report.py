"""Reading run directories for a report, the page's data, the strategy panels and the commands (no browser)."""
from __future__ import annotations

import json
import math
import re
import shutil

import pytest

import evonas
from evonas.cli import main
from evonas.errors import ConfigError
from evonas.report import write_report
from evonas.report.data import report_data
from evonas.report.panels import strategy_panels
from evonas.report.run import read_run
from evonas.runtime.lock import RunLock
from tests.report.test_report_browser import rows


def page_data(path) -> dict:
    """The report data embedded in a written page."""
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                                re.S).group(1).replace("<\\/", "</"))


def test_a_finished_run_reads_as_the_search_returned_it(nb201_runs):
    run_dir = nb201_runs[0]
    run = read_run(run_dir)
    front = json.loads((run_dir / "front.json").read_text())
    assert run.status == "finished" and run.kind == "search"
    assert run.evaluations == rows(run_dir) == front["evaluations"]
    assert [[g, pytest.approx(v)] for g, v in run.hypervolume] == front["hypervolume"]  # the loop's own curve
    assert sorted(ind.key for ind in run.result.front) == sorted(r["key"] for r in front["front"])
    assert run.best[-1]["accuracy"] == front["best"]["accuracy"]["values"]["accuracy"]
    generations = max(ind.generation for ind in run.result.individuals) + 1
    assert [t["generation"] for t in run.timing] == list(range(generations))  # from log.txt
    assert run.timing[-1]["evaluations"] == run.evaluations and run.wall_time > 0
    assert all(t["per_second"] > 0 for t in run.timing)
    assert run.evaluator_version is not None and "nb201" in run.evaluator_version


def test_status_running_while_locked_and_stopped_without_front(nb201_runs, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(nb201_runs[0], copy)
    with RunLock(copy):
        assert read_run(copy).status == "running"
    assert read_run(copy).status == "finished"
    (copy / "front.json").unlink()  # killed before its end
    assert read_run(copy).status == "stopped"
    with open(copy / "history.csv", "a") as handle:  # a row being appended: not read until its line ends
        handle.write("999,99,1.0")
    assert read_run(copy).evaluations == rows(nb201_runs[0])


def test_the_data_changes_signature_with_what_a_search_writes_while_it_is_read(nb201_runs, tmp_path, monkeypatch):
    """``--serve`` rebuilds its data only when the signature changes: a line written while the run is read, and
    the lock a search drops at its end, must change it, or the page keeps the old data (status "running")."""
    from evonas.report import data as data_module
    from evonas.report.data import signature

    copy = tmp_path / "copy"
    shutil.copytree(nb201_runs[0], copy)
    real = data_module.read_run

    def read_while_the_search_writes(*args, **kwargs):
        found = real(*args, **kwargs)
        with open(copy / "log.txt", "a") as handle:
            handle.write("one more line\n")
        return found

    monkeypatch.setattr(data_module, "read_run", read_while_the_search_writes)
    assert report_data([copy], drawings=False)["signature"] != signature([copy])
    with RunLock(copy):
        held = signature([copy])
    assert held != signature([copy])  # the end of the search shows (status "finished") with no other file written


def test_page_is_self_contained_and_holds_every_row(nb201_runs, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", *map(str, nb201_runs), "--out", str(out), "--title", "two runs"]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out}"
    text = out.read_text()
    assert "<script src" not in text and "cdn.plot.ly/plotly" not in text and "Plotly.newPlot" in text
    data = page_data(out)
    assert data["title"] == "two runs"
    for run, run_dir in zip(data["runs"], nb201_runs):
        front = run["figures"][0]["figure"]["data"]
        assert sum(len(trace["x"]) for trace in front) == len(run["points"]) == rows(run_dir)
        assert sorted(row for trace in front for _, row in trace["customdata"]) == list(range(rows(run_dir)))
    header, table = data["comparison"]["header"], data["comparison"]["rows"]
    hv = [float(r[header.index("hypervolume (common bounds)")]) for r in table]
    assert all(0 < v <= 1.5 for v in hv) and [r[0] for r in table] == ["nsga2", "random"]


def test_bad_run_directories_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "holds no search" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "empty"), "--serve", "--out", "x.html"]) == 2
    assert main(["report", str(tmp_path / "empty"), "--port", "70000"]) == 2
    assert not (tmp_path / "empty" / "report.html").exists()


def test_search_writes_its_report_every_generations(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["search", "--space", "nb201", "--strategy", "nsga2", "--evaluator", "nb201-table", "--budget",
                 "30", "--pop-size", "10", "--run-dir", str(run_dir), "--report-every", "1", "--quiet"]) == 0
    assert f"report: {run_dir / 'report.html'}" in capsys.readouterr().out
    data = page_data(run_dir / "report.html")
    assert data["runs"][0]["status"] == "finished" and len(data["runs"][0]["points"]) == rows(run_dir)
    assert main(["search", "--space", "nb201", "--strategy", "nsga2", "--evaluator", "nb201-table", "--budget",
                 "30", "--run-dir", str(tmp_path / "other"), "--report-every", "0"]) == 2


def test_strategy_files_become_panels(tmp_path):
    (tmp_path / "search_curve.csv").write_text("generation,stage,train_loss,lr,arch\n0,a,2.3,0.025,x\n1,a,2.1,0.02,y\n")
    (tmp_path / "valuations.json").write_text(json.dumps({"valuation": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
                                                          "ops": ["skip", "conv"], "unit": 3}))
    (tmp_path / "edge_attention.json").write_text(json.dumps({"normal": [1.0, 0.9]}))
    (tmp_path / "chosen.txt").write_text("Genotype(...)\n")
    panels = {p["title"]: p for p in strategy_panels(tmp_path)}
    curve = panels["search_curve.csv"]
    assert curve["kind"] == "curves" and set(curve["curves"]) == {"train_loss", "lr"} and curve["x"] == [0, 1]
    assert curve["labels"][1] == "stage: a<br>arch: y"
    matrix = panels["valuations.json"]["matrices"][0]
    assert matrix["z"][2] == [0.5, 0.6] and matrix["x"] == ["skip", "conv"] and matrix["y"] is None
    assert panels["edge_attention.json"]["kind"] == "text"
    assert "Genotype(...)" in panels["the strategy's chosen architecture (chosen.txt)"]["text"]


def test_ranking_output_is_a_scatter(tmp_path):
    (tmp_path / "ranking.csv").write_text("arch,accuracy,truth,params\na,1,90,10\nb,2,91,20\nc,0.5,80,5\n")
    (tmp_path / "ranking.json").write_text(json.dumps({"scorer": {"kendall_tau": 0.33}, "label": "naswot"}))
    data = report_data([tmp_path])
    run = data["runs"][0]
    assert run["kind"] == "ranking" and run["figures"][0]["figure"]["data"][0]["x"] == [90, 91, 80]
    assert "Kendall tau +0.330" in run["figures"][0]["figure"]["layout"]["title"]["text"]


def test_gradient_search_writes_its_alphas_for_the_report(tmp_path):
    from evonas.evaluators.tabular import NB201TableEvaluator
    from evonas.strategies.gradient import DartsSearch

    strategy = DartsSearch(epochs=1, C=4, N=1, steps_per_epoch=2, batch_size=16)
    evonas.search(evonas.create("space", "nb201"), strategy, NB201TableEvaluator(), budget=10, seed=0,
                  progress=False, plots=False, run_dir=tmp_path)
    alphas = json.loads((tmp_path / "alphas.json").read_text())
    assert len(alphas["alphas"]) == 6 and all(math.isclose(sum(row), 1, rel_tol=1e-5) for row in alphas["alphas"])
    assert len(alphas["ops"]) == len(alphas["alphas"][0])
    curve = (tmp_path / "search_curve.csv").read_text().splitlines()
    assert "alphas_entropy" in curve[0]
    panel = next(p for p in strategy_panels(tmp_path) if p["title"] == "alphas.json")
    assert panel["matrices"][0]["x"] == alphas["ops"]
    assert write_report([tmp_path]).is_file()


def test_a_report_needs_a_run():
    with pytest.raises(ConfigError):
        write_report([])


def test_browser_tests_fail_under_ci_without_chromium(monkeypatch, tmp_path):
    from tests.report import browser

    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        browser.require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        browser.require_chromium()


def test_drawings_are_made_once_per_cache(nb201_runs, monkeypatch):
    from evonas.report.diagrams import draw_archs, make_space

    space = make_space({"space": "nb201"})
    archs = {k: json.dumps(space.to_json(space.sample(__import__("numpy").random.default_rng(k)))) for k in range(3)}
    cache: dict = {}
    first = draw_archs(space, archs, cache)
    assert set(first) == {0, 1, 2} and all(uri.startswith("data:image/svg+xml;base64,") for uri in first.values())
    monkeypatch.setattr(type(space), "draw", lambda *a, **k: pytest.fail("drawn again"))
    assert draw_archs(make_space({"space": "nb201"}), archs, cache) == first


def test_report_serve_command_serves_the_page_and_its_data(nb201_runs):
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "evonas.cli", "report", "--serve", "--port", "0",
                             str(nb201_runs[0])], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                            # Ctrl-C as in a terminal, even where this test runs with SIGINT ignored (a background
                            # job of a shell: Python then never turns SIGINT into KeyboardInterrupt)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an http_proxy of the machine
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        page = direct.open(url, timeout=60).read().decode()
        assert '"live":true' in page and "Plotly.newPlot" in page
        data = json.loads(direct.open(url + "data.json", timeout=60).read())
        assert len(data["runs"][0]["points"]) == rows(nb201_runs[0]) and data["runs"][0]["status"] == "finished"
        with pytest.raises(urllib.error.HTTPError):
            direct.open(url + "elsewhere", timeout=60)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()  # no server left behind
            proc.wait()
    assert proc.returncode == 130  # Ctrl-C: "evonas: interrupted"
