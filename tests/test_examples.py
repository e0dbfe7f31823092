"""The examples run end to end at toy sizes (their full-size figures are in the README)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_pareto_search_example(tmp_path):
    run_example("pareto_search.py", "--budget", "8", "--pop-size", "4", "--supernet-epochs", "1", "--C", "4",
                "--layers", "3", "--device", "cpu", "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    front = json.loads((tmp_path / "run" / "front.json").read_text())
    assert front["front"] and (tmp_path / "run" / "pareto.png").is_file()


def test_scarlet_example_exports_its_front(tmp_path):
    run_example("scarlet_evolve.py", "--supernet-epochs", "1", "--warmup-epochs", "0", "--budget", "8",
                "--pop-size", "4", "--recalibration-images", "32", "--val-images", "64", "--device", "cpu",
                "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    exported = list((tmp_path / "run").rglob("front_*.pt"))
    assert exported, sorted(p.name for p in (tmp_path / "run").rglob("*"))


def test_nb201_search_example_the_main_job(tmp_path):
    proc = run_example("nb201_search.py", "--budget", "60", "--pop-size", "10", "--quiet",
                       "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert "NSGA-II" in proc.stdout and "random search" in proc.stdout and "short of the true front" in proc.stdout
    assert (tmp_path / "run" / "fronts.png").read_bytes()[:4] == b"\x89PNG"
    for run in ("nsga2", "random"):
        assert (tmp_path / "run" / run / "history.csv").is_file()
    assert f"report: {tmp_path / 'run' / 'report.html'}" in proc.stdout  # the main job names its report
    assert "Plotly.newPlot" in (tmp_path / "run" / "report.html").read_text()


def test_relativenas_example_chooses_and_exports_a_cell(tmp_path):
    run_dir = tmp_path / "run"
    args = ["--pop-size", "2", "--generations", "2", "--C", "4", "--layers", "3", "--member-steps", "2",
            "--val-images", "32", "--device", "cpu", "--quiet", "--run-dir", str(run_dir)]
    proc = run_example("relativenas.py", *args, cwd=tmp_path)
    assert "2 generations of 2 members" in proc.stdout and "generation 1 pair" not in proc.stdout + proc.stderr
    chosen = json.loads((run_dir / "chosen.json").read_text())
    assert len(chosen["normal"]) == 8 and (run_dir / "chosen.png").read_bytes()[:4] == b"\x89PNG"
    assert len((run_dir / "trajectory.csv").read_text().splitlines()) == 3
    history = (run_dir / "history.csv").read_text()
    proc = run_example("relativenas.py", *args, "--resume", cwd=tmp_path)  # a finished run: nothing more to do
    assert "2 generations of 2 members" in proc.stdout and (run_dir / "history.csv").read_text() == history


def test_stacnas_example_runs_both_stages(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_example("stacnas.py", "--C", "4", "--layers", "3", "--layers-stage2", "4", "--epochs", "1",
                       "--steps-per-epoch", "2", "--batch-size", "16", "--device", "cpu", "--quiet",
                       "--run-dir", str(run_dir), cwd=tmp_path)
    assert "stage 1 groups" in proc.stdout and "StacNAS cell: Genotype(" in proc.stdout
    assert json.loads((run_dir / "chosen.json").read_text())["normal"]
    assert len((run_dir / "search_curve.csv").read_text().splitlines()) == 3  # header + one epoch per stage


def test_dap_example_selects_a_cell(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_example("dap.py", "--population", "1", "--C", "4", "--layers", "3", "--batch-size", "8",
                       "--train-steps", "1", "--expand-steps", "1", "--select-steps", "1", "--topology-steps", "1",
                       "--val-images", "16", "--device", "cpu", "--quiet", "--run-dir", str(run_dir), cwd=tmp_path)
    assert "DAP cell (normal = reduce):" in proc.stdout
    chosen = json.loads((run_dir / "chosen.json").read_text())
    assert chosen["normal"] == chosen["reduce"] and len(chosen["normal"]) == 8
    assert len((run_dir / "search_curve.csv").read_text().splitlines()) == 1 + 14 + 1 + 14 + 3


def _bench_examples():
    import importlib.util

    path = EXAMPLES.parent / "benchmarks" / "bench_examples.py"
    spec = importlib.util.spec_from_file_location("bench_examples", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_example_states_the_time_of_its_plain_run():
    """``benchmarks/bench_examples.py`` times each example against the claim in its plain usage line: every
    example has one it can read."""
    bench = _bench_examples()
    for path in sorted(EXAMPLES.glob("*.py")):
        if path.stem in bench.NOT_TIMED:
            continue
        command, claim = bench.plain_usage(path)
        assert command and claim is not None, f"{path.name}: no 'python examples/{path.name}  # about N minutes'"
        assert 1 <= claim.limit_s <= 3600, (path.name, claim)


def test_time_claims_are_read_as_written():
    parse = _bench_examples().parse_claim
    assert (parse("~3-5 minutes on 2 cores").limit_s, parse("~3-5 minutes").hard) == (300, False)
    assert (parse("about a minute on 2 CPU cores").limit_s, parse("< 1 min").limit_s) == (60, 60)
    assert parse("< 1 min on 2 cores").hard and parse("~10 s on 2 CPU cores").limit_s == 10
    assert parse("about 16 minutes").limit_s == 960 and parse("continue a killed run") is None
