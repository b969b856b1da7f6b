"""``chainrule exercise`` and ``chainrule check``: files written, grades, exit statuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.learn import Exercise
from chainrule.learn.exercise_render import answers_toml


def test_exercise_writes_worksheet_and_answer_key(tmp_path, capsys):
    out = tmp_path / "sheet.md"
    assert main(["exercise", "--output", str(out)]) == 0
    key = tmp_path / "sheet-answers.md"
    assert out.exists() and key.exists()
    assert "answer key" in key.read_text().splitlines()[0]
    assert "sheet-answers.md" in capsys.readouterr().out
    assert Exercise.load(out).to_dict() == Exercise.seed().to_dict()


@pytest.mark.parametrize(("suffix", "start"), [(".tex", "\\documentclass"), (".html", "<!DOCTYPE")])
def test_format_follows_the_output_name(tmp_path, suffix, start):
    out = tmp_path / f"w{suffix}"
    answers = tmp_path / f"key{suffix}"
    assert main(["exercise", "--random", "--seed", "4", "--difficulty", "2",
                 "--output", str(out), "--answers", str(answers)]) == 0  # fmt: skip
    assert out.read_text().startswith(start) and answers.read_text().startswith(start)
    assert Exercise.load(out).to_dict() == Exercise.random(4, 2).to_dict()


def test_same_seed_same_worksheet_from_the_command_line(capsys):
    main(["exercise", "--random", "--seed", "9", "--difficulty", "3"])
    first = capsys.readouterr().out
    main(["exercise", "--random", "--seed", "9", "--difficulty", "3"])
    assert capsys.readouterr().out == first and first.startswith("# Worksheet")


def test_spec_and_blank(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text(
        'x = [1.0, 2.0]\ny = [0.5]\nlr = 0.1\nsizes = [2, 2, 1]\nactivations = "tanh"\n',
        encoding="utf-8",
    )
    assert main(["exercise", "--spec", str(spec), "--blank", "dEdW1,update"]) == 0
    sheet = capsys.readouterr().out
    assert "net.toml" in sheet.splitlines()[0]
    assert "# dEdW1 = " in sheet and "# W2_new = " in sheet and "# dEdW2 = " not in sheet


def test_check_exact_answers_exits_0(tmp_path, capsys):
    sheet = tmp_path / "w.md"
    main(["exercise", "--random", "--seed", "2", "--difficulty", "3", "--output", str(sheet)])
    answers = tmp_path / "a.toml"
    answers.write_text(answers_toml(Exercise.load(sheet).answers()), encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(sheet), str(answers)]) == 0
    out = capsys.readouterr().out
    assert "0 wrong" in out and "0 missing" in out


def test_check_names_the_mistake_and_exits_1(tmp_path, capsys):
    sheet = tmp_path / "w.html"
    main(["exercise", "--blank", "deltas,gradients", "--output", str(sheet)])
    answers = tmp_path / "a.toml"
    # f'(inL2) forgotten: dEdInL2 written as dEdOutL2 (the notebook's -0.153905).
    answers.write_text("dEdOutL2 = [-0.153905]\ndEdInL2 = [-0.153905]\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(sheet), str(answers)]) == 1
    out = capsys.readouterr().out
    assert "wrong    dEdInL2: f'(inL) forgotten" in out
    assert "the factor doutL2/dinL2 = f'(inL2) is missing" in out
    assert "right    dEdOutL2" in out and "missing  dEdW2" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["exercise", "--blank", "dEdW7"], "blank: 'dEdW7'"),
        (["exercise", "--difficulty", "2"], "--difficulty applies to --random"),
        (["exercise", "--seed", "3"], "--seed applies to --random"),
        (["exercise", "--rtol", "0", "--atol", "0"], "rtol and atol cannot both be 0"),
        (["exercise", "--output", "w.txt"], "give --format"),
        (["check", "missing.md", "a.toml"], "cannot read worksheet"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_answers_files_exit_2(tmp_path, capsys):
    sheet = tmp_path / "w.md"
    main(["exercise", "--blank", "gradients", "--output", str(sheet)])
    cases = {
        "a.txt": ("dEdW1 = 1", "must end in .toml or .json"),
        "b.toml": ("dEdW1 = [[1, 2]", "is not valid TOML"),
        "c.toml": ("inL1 = [1, 2]", "not blanks of this worksheet"),
        "d.json": ('{"dEdW1": "small"}', "the answer for dEdW1"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        capsys.readouterr()
        assert main(["check", str(sheet), str(tmp_path / name)]) == 2, name
        assert message in capsys.readouterr().err, name
    (tmp_path / "plain.md").write_text("# not a worksheet\n", encoding="utf-8")
    (tmp_path / "ok.toml").write_text("dEdW1 = [[0, 0], [0, 0]]\n", encoding="utf-8")
    assert main(["check", str(tmp_path / "plain.md"), str(tmp_path / "ok.toml")]) == 2
    assert "holds no chainrule worksheet problem" in capsys.readouterr().err


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.mark.parametrize("suffix", [".md", ".html"])
def test_examples_are_current(tmp_path, suffix):
    sheet, key = tmp_path / f"w{suffix}", tmp_path / f"k{suffix}"
    assert main(["exercise", "--output", str(sheet), "--answers", str(key)]) == 0
    for name, made in ((f"seed-worksheet{suffix}", sheet), (f"seed-answers{suffix}", key)):
        assert (EXAMPLES / name).read_text(encoding="utf-8") == made.read_text(encoding="utf-8"), (
            f"examples/{name} is stale: chainrule exercise --output examples/seed-worksheet"
            f"{suffix} --answers examples/seed-answers{suffix}"
        )


def readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"### Worksheets and answer checking\n(.*?)\n##", text, re.S).group(1)


def test_readme_check_example_is_what_check_prints(tmp_path, capsys, monkeypatch):
    section = readme_section()
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n\$ chainrule check (\S+) (\S+)\n(.*?)```", section, re.S)
    (tmp_path / shown.group(2)).write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["check", str(ROOT / shown.group(1)), shown.group(2)]) == 1
    assert capsys.readouterr().out == shown.group(3)


def test_readme_python_example_runs():
    code = re.search(r"```python\n(.*?)```", readme_section(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README learn by doing", "exec"), namespace)
    ex = namespace["ex"]
    assert ex.check("dEdW1", [[0.001093, -0.001345], [0.000219, -0.000269]]).status == "right"
    report = ex.grade({"dEdW2": [[-0.021869], [-0.022037]], "dEdB2": [-0.15]})
    assert report.names("right") == ["dEdW2"] and report.names("wrong") == ["dEdB2"]
