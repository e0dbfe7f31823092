"""Run directories that cannot contradict themselves: identity, checksums, lock, restart, budget display."""
from __future__ import annotations

import io
import json
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
import types
import zipfile
import zlib

import pytest
from tqdm import tqdm

from evonas.cli import main
from evonas.errors import CheckpointError, ConfigError
from evonas.loop import search
from evonas.registry import strategies
from evonas.testing import ToySpace, ZDTEvaluator

TOY = ["--space", "toy", "--evaluator", "zdt", "--strategy", "nsga2", "--pop-size", "10", "--quiet"]


def run_toy(run_dir=None, *, seed=4, budget=40, resume=False, **kwargs):
    return search(ToySpace(length=6, choices=3), strategies.create("nsga2", pop_size=10), ZDTEvaluator(),
                  budget=budget, seed=seed, run_dir=run_dir, resume=resume, progress=False, **kwargs)


def rows(result):
    return [(i.key, i.generation, i.values) for i in result.individuals]


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".lock"}


def test_a_checkpoint_copied_from_another_run_is_refused_and_nothing_changes(tmp_path):
    run_toy(tmp_path / "a", seed=4, budget=20)
    run_toy(tmp_path / "b", seed=4, budget=30)  # same settings, another run: its checkpoint is not a's
    shutil.copy(tmp_path / "b" / "checkpoint.pkl", tmp_path / "a" / "checkpoint.pkl")
    before = snapshot(tmp_path / "a")
    with pytest.raises(CheckpointError, match="belongs to another run: its run_id"):
        run_toy(tmp_path / "a", seed=4, budget=40, resume=True)
    assert snapshot(tmp_path / "a") == before


def test_resuming_a_checkpoint_of_other_objectives_is_a_one_line_error(capsys, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(a)]) == 0
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(b), "--objectives", "f2:min", "genes:max"]) == 0
    capsys.readouterr()
    shutil.copy(b / "checkpoint.pkl", a / "checkpoint.pkl")
    assert main(["search", "--resume", str(a), "--budget", "40", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "belongs to another run" in err and err.count("\n") == 1


def test_a_flipped_byte_in_the_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
    reference = run_toy(budget=60)
    run_toy(tmp_path, budget=40, checkpoint_every=0)  # a checkpoint per generation: one to fall back to
    blob = bytearray((tmp_path / "checkpoint.pkl").read_bytes())
    blob[len(blob) // 2] ^= 0x04
    (tmp_path / "checkpoint.pkl").write_bytes(bytes(blob))
    with caplog.at_level("WARNING"):
        resumed = run_toy(tmp_path, budget=60, resume=True)
    assert "checksum" in caplog.text and "falling back" in caplog.text
    assert rows(resumed) == rows(reference)


HOLD = textwrap.dedent(
    """
    import sys, time
    from evonas.runtime.run_dir import RunDir
    with RunDir(sys.argv[1]).locked():
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_a_second_search_on_a_busy_run_dir_is_refused_without_touching_it(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["search", *TOY, "--budget", "20", "--run-dir", str(run)]) == 0
    before = snapshot(run)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        capsys.readouterr()
        for argv in (["search", "--resume", str(run), "--budget", "40", "--quiet"],
                     ["search", *TOY, "--budget", "20", "--seed", "9", "--run-dir", str(run)]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert f"in use by pid {holder.pid}" in err and err.count("\n") == 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert snapshot(run) == before


def test_a_search_killed_before_its_first_checkpoint_resumes_from_the_start(tmp_path):
    class DiesAtOnce(ZDTEvaluator):
        def _evaluate(self, archs):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search(ToySpace(length=6, choices=3), strategies.create("nsga2", pop_size=10), DiesAtOnce(), budget=40,
               seed=4, run_dir=tmp_path, progress=False)
    assert (tmp_path / "config.json").is_file() and not (tmp_path / "checkpoint.pkl").exists()
    assert rows(run_toy(tmp_path, budget=40, resume=True)) == rows(run_toy(budget=40))


def test_the_budget_counts_whole_generations_and_the_bar_agrees(capsys, tmp_path):
    from evonas.callbacks import _advance

    result = search(ToySpace(length=8, choices=4), strategies.create("nsga2", pop_size=8), ZDTEvaluator(),
                    budget=30, seed=0, progress=False)
    last = max(i.generation for i in result.individuals)
    before_last = sum(i.generation < last for i in result.individuals)
    assert before_last < 30 <= len(result.individuals) <= before_last + 8  # stops after the generation reaching 30
    stream = io.StringIO()
    bar = tqdm(total=30, file=stream, mininterval=0)
    for _ in range(len(result.individuals)):
        _advance(bar)
    assert bar.n == bar.total == len(result.individuals)
    bar.close()
    assert f"{len(result.individuals)}/{len(result.individuals)}" in stream.getvalue().splitlines()[-1].split("\r")[-1]


def test_a_full_disk_stops_the_search_in_one_line_and_the_run_resumes_exactly(capsys, tmp_path, monkeypatch):
    import errno
    import os

    from evonas.runtime import atomic

    argv = ["search", "--space", "toy", "--space-opt", "length=6", "--evaluator", "zdt", "--strategy", "nsga2",
            "--pop-size", "10", "--seed", "4", "--budget", "60", "--quiet"]
    assert main([*argv, "--run-dir", str(tmp_path / "reference")]) == 0
    real_fsync, calls = os.fsync, []

    def fills_up(fd):
        calls.append(fd)
        if len(calls) > 12:  # config files and the first generations fit, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fills_up)
    run = tmp_path / "run"
    assert main([*argv, "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and err.count("\n") == 1
    monkeypatch.undo()
    assert (run / "checkpoint.pkl").is_file() and not list(run.glob(".*.tmp"))
    assert main(["search", "--resume", str(run), "--budget", "60", "--quiet"]) == 0
    assert (run / "history.csv").read_text() == (tmp_path / "reference" / "history.csv").read_text()


def test_an_unwritable_run_dir_is_a_one_line_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    for argv in (["search", *TOY, "--budget", "10", "--run-dir", str(blocker / "run")],
                 ["train", "--genotype", "DARTS_V2", "-C", "4", "--layers", "3", "--epochs", "1",
                  "--run-dir", str(blocker / "run"), "--quiet"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "cannot write" in err and "Not a directory" in err and err.count("\n") == 1
    assert blocker.read_text() == "a file where a folder should be"


def test_history_grows_by_appending_and_a_resume_repairs_a_cut_row(tmp_path):
    snapshots = []

    def watch(generation, state):
        snapshots.append((tmp_path / "run" / "history.csv").read_text() if generation else None)

    class Stop(Exception):
        pass

    def stop_at_3(generation, state):
        if generation == 3:
            raise Stop()

    run_toy(tmp_path / "run", budget=60, callbacks=[watch], checkpoint_every=0)  # rows appended every generation
    texts = [t for t in snapshots if t is not None]
    # the callback runs before the generation is written: each snapshot holds the rows up to the previous one
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:]))
    assert len(texts[-1].splitlines()) < len((tmp_path / "run" / "history.csv").read_text().splitlines())
    with pytest.raises(Stop):
        run_toy(tmp_path / "cut", budget=60, callbacks=[stop_at_3], checkpoint_every=0)
    with open(tmp_path / "cut" / "history.csv", "a") as handle:
        handle.write("99,3,0.5,0.")  # a row cut short by a kill
    run_toy(tmp_path / "cut", budget=60, resume=True)
    assert (tmp_path / "cut" / "history.csv").read_text() == (tmp_path / "run" / "history.csv").read_text()


def test_history_takes_a_column_that_appears_late_and_builds_each_row_once(tmp_path, monkeypatch):
    """An evaluator that reports a new value mid-run: the file is rewritten with the new column (empty in the
    rows before it), later rows are appended again; the first sync builds each row once."""
    import csv

    from evonas.history import HistoryWriter
    from evonas.runtime.run_dir import RunDir

    space = ToySpace(length=3, choices=2)
    archive = types.SimpleNamespace(individuals=[])

    def add(values):
        index = len(archive.individuals)
        archive.individuals.append(types.SimpleNamespace(index=index, generation=index // 2, values=values,
                                                         feasible=True, key=f"k{index}", arch=(index % 2, 0, 1)))

    built = []
    row = HistoryWriter._row
    monkeypatch.setattr(HistoryWriter, "_row", lambda self, ind, texts=None: built.append(ind.index) or
                        row(self, ind, texts))
    writer = HistoryWriter(RunDir(tmp_path), space)
    add({"f": 1.0}), add({"f": 2.0})
    writer.sync(archive)
    assert built == [0, 1]
    add({"f": 3.0, "g": 9.0})
    writer.sync(archive)
    add({"f": 4.0})
    writer.sync(archive)
    with open(tmp_path / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["index", "generation", "f", "feasible", "key", "arch", "g"]
    assert [(r["f"], r["g"]) for r in rows] == [("1.0", ""), ("2.0", ""), ("3.0", "9.0"), ("4.0", "")]
    assert rows[3]["arch"] == "[1,0,1]" and rows[3]["key"] == "k3"


def test_the_checkpoint_holds_states_as_data_not_objects(tmp_path):
    from evonas.runtime.checkpoint import load_checkpoint
    from evonas.strategies.base import Strategy

    run_toy(tmp_path, budget=30)
    state = load_checkpoint(tmp_path / "checkpoint.pkl", kind="search")
    assert isinstance(state["strategy"], dict) and "rng" in state["strategy"]
    assert not any(isinstance(v, Strategy) for v in state.values())
    assert "archive" not in state  # the evaluations are in archive.log; the checkpoint says where it ends
    log = state["archive_log"]
    assert log["records"] == 30 and log["bytes"] == (tmp_path / "archive.log").stat().st_size
    assert sum(count for _, count in log["versions"]) == 30
    crc, _, text = (tmp_path / "archive.log").read_text().splitlines()[0].partition(" ")
    generation, key, arch, values = json.loads(text)
    assert isinstance(arch, list) and isinstance(values, dict) and generation == 0  # the toy space's JSON form
    assert int(crc, 16) == zlib.crc32(text.encode())


def test_the_checkpoint_does_not_grow_with_the_run(tmp_path):
    for name, budget in (("short", 30), ("long", 300)):
        result = search(ToySpace(length=16, choices=4), strategies.create("nsga2", pop_size=10), ZDTEvaluator(),
                        budget=budget, seed=4, run_dir=tmp_path / name, progress=False, plots=False,
                        checkpoint_every=0)
        assert len(result.individuals) >= budget
    short, long = ((tmp_path / name / "checkpoint.pkl").stat().st_size for name in ("short", "long"))
    log_short, log_long = ((tmp_path / name / "archive.log").stat().st_size for name in ("short", "long"))
    # a few bytes per generation (its hypervolume), not the evaluations (the archive was ~80 bytes each)
    assert long - short < 0.1 * (log_long - log_short), (short, long, log_short, log_long)


def resume_rows(run_dir, budget=60):
    return rows(run_toy(run_dir, budget=budget, resume=True, plots=False))


def test_an_altered_archive_log_is_refused_in_one_line_and_a_line_past_the_checkpoint_is_dropped(tmp_path):
    reference = rows(run_toy(budget=60))
    run_toy(tmp_path, budget=30, checkpoint_every=0)
    log = tmp_path / "archive.log"
    original = log.read_bytes()
    with open(log, "ab") as handle:  # a record written before a kill cut the checkpoint short
        handle.write(original.splitlines(keepends=True)[-1][:-5])
    assert resume_rows(tmp_path) == reference
    assert log.read_bytes().startswith(original) and len(log.read_bytes().splitlines()) == len(reference)

    run_toy(tmp_path / "b", budget=30, checkpoint_every=0)
    log = tmp_path / "b" / "archive.log"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b",0", b",1", 1)  # an edited value: the record's checksum no longer matches
    log.write_bytes(b"".join(lines))
    with pytest.raises(CheckpointError, match="archive.log is damaged: the checksum of line 4") as error:
        resume_rows(tmp_path / "b")
    assert "\n" not in str(error.value)
    log.write_bytes(b"".join(lines[:10]))
    with pytest.raises(CheckpointError, match="shorter than its checkpoint says"):
        resume_rows(tmp_path / "b")
    log.unlink()
    with pytest.raises(CheckpointError, match="archive.log is missing"):
        resume_rows(tmp_path / "b")


def test_a_checkpoint_holding_the_archive_resumes(tmp_path):
    """A run directory of an evonas before archive.log (the archive inside a dill-pickled checkpoint)."""
    import dill

    from evonas.loop import CHECKPOINT, CHECKPOINT_KIND
    from evonas.runtime.checkpoint import load_latest_checkpoint, save_object_checkpoint

    reference = rows(run_toy(budget=60))
    search(ToySpace(length=6, choices=3), strategies.create("nsga2", pop_size=10), ZDTEvaluator(), budget=30,
           seed=4, run_dir=tmp_path, progress=False)
    state = load_latest_checkpoint(tmp_path / CHECKPOINT, kind=CHECKPOINT_KIND)
    individuals = [(ind.generation, ind.key, list(ind.arch), ind.values) for ind in
                   run_toy(budget=30).individuals]
    old = {k: v for k, v in state.items() if k not in ("format", "version", "kind", "run_id", "archive_log", "hits")}
    old["archive"] = {"individuals": individuals, "versions": [0] * len(individuals), "hits": state["hits"]}
    real_dumps = pickle.dumps

    def no_plain_pickle(*args, **kwargs):  # an older evonas pickled with dill only
        raise pickle.PicklingError("forced")

    pickle.dumps = no_plain_pickle
    try:
        save_object_checkpoint(tmp_path / CHECKPOINT, old, kind=CHECKPOINT_KIND, run_id=state["run_id"])
    finally:
        pickle.dumps = real_dumps
    (tmp_path / "archive.log").unlink()
    assert "pickler" not in json.loads(zipfile.ZipFile(tmp_path / CHECKPOINT).read("evonas.json"))
    assert dill.loads(zipfile.ZipFile(tmp_path / CHECKPOINT).read("state.dill"))["archive"]["individuals"]
    assert resume_rows(tmp_path) == reference
    assert len((tmp_path / "archive.log").read_bytes().splitlines()) == len(reference)


def test_checkpoints_are_throttled_by_wall_time_and_a_resume_from_an_early_one_is_exact(tmp_path, monkeypatch):
    import evonas.loop as loop

    written = []
    real = loop.save_object_checkpoint
    monkeypatch.setattr(loop, "save_object_checkpoint", lambda path, state, **kw: written.append(
        state["generation"]) or real(path, state, **kw))
    reference = run_toy(budget=60)
    every = run_toy(tmp_path / "every", budget=60, checkpoint_every=0)
    assert written == list(range(len(written))) and len(written) >= 5  # one per generation
    written.clear()

    class Stop(Exception):
        pass

    def stop_at_4(generation, state):
        if generation == 4:
            raise Stop()

    clock = {"now": 0.0}  # one second a generation, from 0 at the start of the search
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(monotonic=lambda: clock["now"]))

    def tick(generation, state):
        clock["now"] += 1.0

    with pytest.raises(Stop):
        run_toy(tmp_path / "rare", budget=60, checkpoint_every=2.5, callbacks=[tick, stop_at_4])
    assert written == [2]  # 2.5 s after the start (none after the first generation), not again before the stop
    written.clear()
    resumed = run_toy(tmp_path / "rare", budget=60, resume=True, checkpoint_every=2.5, callbacks=[tick])
    last = max(ind.generation for ind in resumed.individuals)
    assert written == [*range(5, last, 3), last] and len(written) >= 2  # every 3 s from the resume on, the last
    assert rows(resumed) == rows(every) == rows(reference)
    assert (tmp_path / "rare" / "history.csv").read_bytes() == (tmp_path / "every" / "history.csv").read_bytes()
    assert (tmp_path / "rare" / "archive.log").read_bytes() == (tmp_path / "every" / "archive.log").read_bytes()
    for bad in (-1, "2", float("nan")):
        with pytest.raises(ConfigError, match="checkpoint_every must be a number of seconds"):
            run_toy(tmp_path / "bad", budget=20, checkpoint_every=bad)


def test_a_run_stopped_before_its_first_checkpoint_starts_over_on_resume(tmp_path, caplog):
    from evonas.loop import CHECKPOINT

    class Stop(Exception):
        pass

    def stop_at_3(generation, state):
        if generation == 3:
            raise Stop()

    reference = run_toy(tmp_path / "whole", budget=60)
    with pytest.raises(Stop):  # three generations, well within the first checkpoint_every (an hour)
        run_toy(tmp_path / "cut", budget=60, callbacks=[stop_at_3], checkpoint_every=3600)
    assert not (tmp_path / "cut" / CHECKPOINT).exists() and (tmp_path / "cut" / "config.json").exists()
    with caplog.at_level("WARNING"):
        resumed = run_toy(tmp_path / "cut", budget=60, resume=True, checkpoint_every=3600)
    assert "no checkpoint yet" in caplog.text and "starting over" in caplog.text
    assert rows(resumed) == rows(reference)
    for name in ("history.csv", "archive.log"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
