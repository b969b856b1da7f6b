"""The command line: options, spec files and bad input (one clear line, exit status 2)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import build_parser, main
from chainrule.cli.options import Number
from chainrule.datasets import SEED_SPEC


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_spec_file_for_another_network(tmp_path, capsys):
    spec = {"sizes": [3, 4, 2, 1], "activations": ["relu", "tanh", "sigmoid"], "seed": 0,
            "x": [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], "y": [1, 0], "lr": 0.1,
            "loss": "binary_cross_entropy", "reduction": "sum"}  # fmt: skip
    path = tmp_path / "net.json"
    path.write_text(json.dumps(spec))
    status, out, _ = run(capsys, "explain", "--spec", str(path))
    assert status == 0
    for line in ("Input to layer 3:", "dEdW3:", "dEdB1:", "Batch error E = sum(e):"):
        assert line in out
    assert "reduction='sum'" in out


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**SEED_SPEC, "x": [0.5]}, "X has 1 features per instance, but layer 1"),
        ({**SEED_SPEC, "loss": "hinge"}, "unknown loss 'hinge'; known:"),
        ({**SEED_SPEC, "y": float("inf")}, "field 'y' contains NaN or infinity"),
    ],
)
def test_bad_spec_prints_one_line_and_exits_2(tmp_path, capsys, spec, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    status, out, err = run(capsys, "explain", "--spec", str(path))
    assert status == 2 and out == ""
    assert err.startswith("chainrule: error: spec file") and message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["explain", "--steps", "0"], ["explain", "--precision", "x"]])
def test_bad_options_exit_2(capsys, args):
    status, _, err = run(capsys, *args)
    assert status == 2 and "error" in err


def test_no_traceback_from_the_console_script(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("x = [0.5, 0.1]\ny = 0.9\nlr = 0.5\nsizes = [2, 0, 1]\n")
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--spec", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "sizes[1] must be a positive integer, got 0" in result.stderr


def test_version_and_help(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.startswith("chainrule ")


def test_a_bare_chainrule_prints_the_help_and_exits_2(capsys):
    status, out, err = run(capsys)
    assert status == 2 and out == ""
    assert err.startswith("usage: chainrule") and all(
        c in err for c in ("explain", "train", "bench")
    )


def subcommands():
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices


def options(parser):
    return [a for a in parser._actions if a.option_strings and a.dest not in ("help", "version")]


@pytest.mark.parametrize("command", ["explain", "train", "bench"])
def test_every_option_shows_its_default_in_help(command):
    sub = subcommands()[command]
    formatter = sub._get_formatter()
    for action in options(sub):
        assert "default" in formatter._get_help_string(action), action.option_strings
    # ... and in what --help prints, e.g. "--epochs EPOCHS epochs at most (a whole ...
    text = " ".join(sub.format_help().split())
    assert text.count("default") >= len(options(sub))


def number_options():
    found = []
    for command, sub in subcommands().items():
        for action in options(sub):
            if isinstance(action.type, Number):
                found.append((command, action.option_strings[0], action.type))
    return found


@pytest.mark.parametrize(("command", "option", "kind"), number_options())
def test_numeric_flags_enforce_the_bound_they_state(capsys, command, option, kind):
    stated = str(kind)
    sub = subcommands()[command]
    formatter = sub._get_formatter()
    (action,) = [a for a in options(sub) if option in a.option_strings]
    assert stated in formatter._get_help_string(action)  # the help states the bound
    step = 1 if kind.kind is int else 1e-9
    for bound, is_open, outward in ((kind.low, kind.low_open, -1), (kind.high, kind.high_open, 1)):
        if bound is None:
            continue
        outside = bound + outward * step
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"expected {stated}, got")):
            kind(repr(kind.kind(outside)))
        if is_open:
            with pytest.raises(argparse.ArgumentTypeError):
                kind(repr(kind.kind(bound)))
        else:
            assert kind(repr(kind.kind(bound))) == bound  # the bound itself is accepted
        inside = bound - outward * step
        assert kind(repr(kind.kind(inside))) == kind.kind(inside)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explain", "--steps", "-3"], "argument --steps: expected a whole number >= 1, got -3"),
        (["explain", "--steps", "0"], "argument --steps: expected a whole number >= 1, got 0"),
        (["explain", "--precision", "-1"], "expected a whole number >= 0, got -1"),
        (["explain", "--lr", "0"], "argument --lr: expected a number > 0, got 0"),
        (["explain", "--lr", "inf"], "argument --lr: expected a number > 0, got inf"),
        (["train", "--dropout", "1"], "argument --dropout: expected a number in [0, 1), got 1"),
        (["train", "--test-size", "0"], "expected a number in (0, 1), got 0"),
        (["train", "--seed", "-1"], "argument --seed: expected a whole number >= 0, got -1"),
        (["train", "--threads", "0"], "argument --threads: expected a whole number >= 1, got 0"),
        (["train", "--epochs", "2.5"], "expected a whole number >= 1, got '2.5'"),
    ],
)
def test_bad_numbers_are_one_line_naming_the_bound(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert message in err and err.count("\n") == 1, err
    assert err.startswith(f"chainrule {argv[0]}: error: ")


def test_steps_one_is_accepted(capsys):
    assert run(capsys, "explain", "--steps", "1")[0] == 0


def test_bench_writes_into_the_output_folder(capsys, monkeypatch, tmp_path):
    pytest.importorskip("threadpoolctl", reason="chainrule bench needs the bench extra")
    from chainrule.bench import report
    from chainrule.bench import run as bench_run

    # The measurements themselves are tested in test_bench.py; here only where they go.
    monkeypatch.setattr(bench_run, "run", lambda **settings: {"settings": settings})
    monkeypatch.setattr(report, "render", lambda results: "the tables")
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick"]) == 0  # default: the current folder
    assert json.loads((tmp_path / "bench_epoch.json").read_text())["settings"]["rounds"] == 1
    assert not (tmp_path / "benchmarks").exists()
    assert main(["bench", "--quick", "--output", "out/deeper"]) == 0
    assert (tmp_path / "out" / "deeper" / "bench_epoch.json").exists()
    assert f"wrote {Path('out/deeper/bench_epoch.json')}" in capsys.readouterr().out


def test_bench_output_is_checked_before_the_timing(capsys, monkeypatch, tmp_path):
    pytest.importorskip("threadpoolctl", reason="chainrule bench needs the bench extra")
    from chainrule.bench import run as bench_run

    ran = []
    monkeypatch.setattr(bench_run, "run", lambda **settings: ran.append(settings))
    (tmp_path / "file").write_text("")
    assert main(["bench", "--quick", "--output", str(tmp_path / "file" / "sub")]) == 2
    assert not ran
    assert capsys.readouterr().err == (
        f"chainrule: error: --output: {str(tmp_path / 'file')!r} is not a folder\n"
    )


def test_bench_without_its_extra_names_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    assert main(["bench", "--quick"]) == 2
    assert "pip install 'chainrule[bench]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["trian"], "invalid choice: 'trian' (choose from "),
        (["train", "--dataset", "digit"], "invalid choice: 'digit' (choose from "),
        (["explain", "--format", "htm"], "invalid choice: 'htm' (choose from "),
    ],
)
def test_an_invalid_choice_gets_a_did_you_mean(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    meant = {"trian": "train", "digit": "digits", "htm": "html"}[argv[-1]]
    assert status == 2 and message in err and f"; did you mean '{meant}'?" in err
    assert err.count("\n") == 1
