"""Every numeric option of every command, given a wrong type, a negative number or zero, and every
``KEY=VALUE`` option given an unknown key: either the value is one the command documents as valid (listed
below) and it runs, or it is refused with one line, exit code 2, no traceback and nothing written (issue 27).

The cases are generated from the parser itself, so an option added later is walked too."""
from __future__ import annotations

import argparse
import json

import pytest

from evonas.cli import build_parser, main

#: (command, option, value) that are valid settings, not errors
VALID = {
    ("train", "--seed", "0"), ("train", "--momentum", "0"), ("train", "--weight-decay", "0"),
    ("train", "--auxiliary-weight", "0"), ("train", "--drop-path", "0"), ("train", "--cutout", "0"),
    ("train", "--workers", "0"), ("train", "--grad-clip", "0"),
    ("evaluate", "--workers", "0"),
    ("search", "--seed", "0"), ("search", "--checkpoint-every", "0"),
    ("export", "--seed", "0"),
    ("rank", "--seed", "0"),
    ("op-clusters", "--seed", "0"), ("score", "--seed", "0"), ("report", "--port", "0"),
    ("surrogate fit", "--seed", "0"),
}
#: options whose value a command must have to do anything; their cases are covered by the base command line
SKIPPED = {("score", "--seed")}  # score needs the NAS-Bench-301 models, which are not shipped
SKIPPED_COMMANDS = {"score", "data info", "data pack", "data verify"}  # no numeric option, or nothing to run


def _commands(parser=None, prefix=()):
    """``(command words, parser)`` of every command, nested ones (``surrogate fit``) included."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    yield " ".join((*prefix, name)), sub
                yield from _commands(sub, (*prefix, name))


def _numeric_options():
    for command, sub in _commands():
        for action in sub._actions:
            kind = getattr(action.type, "kind", action.type)
            if action.option_strings and kind in (int, float) and (command, action.option_strings[-1]) not in SKIPPED:
                yield command, action.option_strings[-1]


def _option_options():
    for command, sub in _commands():
        for action in sub._actions:
            if action.metavar == "KEY=VALUE":
                yield command, action.option_strings[-1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny search run and a tiny training run the commands that read one are pointed at."""
    root = tmp_path_factory.mktemp("fuzz")
    assert main(["search", "--space", "nb201", "--evaluator", "nb201-table", "--budget", "16", "--pop-size", "4",
                 "--quiet", "--run-dir", str(root / "search")]) == 0
    assert main(["train", "--genotype", "DARTS_V2", "--run-dir", str(root / "train"), *TINY_TRAIN]) == 0
    return root


TINY_TRAIN = ["-C", "4", "--layers", "3", "--epochs", "1", "--batch-size", "16", "--max-batches", "1",
              "--workers", "0", "--test-fraction", "0.05", "--device", "cpu", "--quiet"]


def _base(command, runs, out):
    return {
        "train": ["train", "--genotype", "DARTS_V2", "--run-dir", str(out), *TINY_TRAIN],
        "evaluate": ["evaluate", "--checkpoint", str(runs / "train" / "checkpoint.pt"), "--batch-size", "16",
                     "--workers", "0", "--device", "cpu"],
        "train-supernet": ["train-supernet", "--space", "nb201", "--checkpoint", str(out / "supernet.pt"),
                           "--opt", "epochs=1", "--opt", "steps_per_epoch=1"],
        "search": ["search", "--space", "nb201", "--evaluator", "nb201-table", "--budget", "4", "--pop-size", "4",
                   "--quiet", "--run-dir", str(out)],
        "export": ["export", str(runs / "search"), "--out", str(out), "--exporter", "torchscript", "--quiet"],
        "score": ["score", "DARTS_V2", "--nb301", str(out)],
        "rank": ["rank", "--archs", "3", "--scorer", "synflow", "--evaluator-opt", 'net_kwargs={"C": 4, "N": 1}',
                 "--out", str(out), "--quiet"],
        "report": ["report", str(runs / "search"), "--out", str(out / "report.html"), "--no-drawings"],
        "surrogate fit": ["surrogate", "fit", str(runs / "search"), "-o", str(out / "model.json"), "--objective",
                          "accuracy:max", "--space", "nb201", "--model", "ridge"],
        "op-clusters": ["op-clusters", "--epochs", "1", "--steps-per-epoch", "1", "--C", "4", "--layers", "3",
                        "--batch-size", "8", "--images", "8", "--out", str(out), "--quiet",
                        "--ops", "max_pool_3x3,avg_pool_3x3,skip_connect"],
    }[command]


def _snapshot(path):
    return sorted((str(p.relative_to(path)), p.stat().st_mtime_ns) for p in path.rglob("*")) if path.exists() else None


def _check(capsys, argv, out, runs, valid):
    before = _snapshot(runs)
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refused the command line
        code = stop.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if valid:
        assert code == 0, err
        return
    assert code == 2, f"{argv}: accepted"
    assert err.count("\n") == 1 and "error" in err, err
    assert not out.exists() or not any(out.iterdir()), f"{argv}: wrote {list(out.iterdir())}"
    assert _snapshot(runs) == before, f"{argv}: changed the runs it read"


@pytest.mark.parametrize("command, option", sorted(set(_numeric_options())))
@pytest.mark.parametrize("value", ["x", "-1", "0"])
def test_numeric_options_refuse_wrong_types_negatives_and_zero(capsys, tmp_path, runs, command, option, value):
    out = tmp_path / "out"
    _check(capsys, [*_base(command, runs, out), option, value], out, runs, (command, option, value) in VALID)


@pytest.mark.parametrize("command, option", sorted(o for o in set(_option_options()) if o[0] not in SKIPPED_COMMANDS))
def test_unknown_keys_are_refused(capsys, tmp_path, runs, command, option):
    out = tmp_path / "out"
    _check(capsys, [*_base(command, runs, out), option, "no_such_setting=1"], out, runs, False)


@pytest.mark.parametrize("command", ["train", "evaluate", "train-supernet", "search", "export", "rank",
                                     "op-clusters", "report"])
def test_unknown_flags_are_refused(capsys, tmp_path, runs, command):
    out = tmp_path / "out"
    _check(capsys, [*_base(command, runs, out), "--no-such-flag", json.dumps(1)], out, runs, False)
