"""``chainrule train``: metrics, report and loss-curve PNG; failures are one line."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("sklearn", reason="chainrule train needs the sklearn extra")

from chainrule.cli import main


def test_train_prints_metrics_and_report(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="the loss curve is drawn by matplotlib")
    folder = tmp_path / "figures"
    status = main(
        [
            "train",
            "--dataset",
            "breast_cancer",
            "--hidden",
            "16,8",
            "--epochs",
            "30",
            "--scale",
            "--quiet",
            "--plot",
            str(folder),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    for line in ("test accuracy:", "test roc_auc:", "confusion matrix", "precision", "f1-score"):
        assert line in out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.9
    for name in ("history.png", "gradient_norms.png", "weights.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (folder / "decision_regions.png").exists()  # 30 features: no plane to draw


def test_train_plots_decision_regions_for_2d_data(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="the figures are drawn by matplotlib")
    image = pytest.importorskip("matplotlib.image")
    argv = ["train", "--dataset", "moons", "--hidden", "8", "--epochs", "20", "--quiet"]
    assert main([*argv, "--scale", "--plot", str(tmp_path)]) == 0
    assert "decision_regions.png" in capsys.readouterr().out
    for name in ("history.png", "gradient_norms.png", "weights.png", "decision_regions.png"):
        pixels = image.imread(tmp_path / name)
        assert pixels[..., :3].var() > 1e-3, f"{name} is blank"


def test_train_shows_a_progress_bar(capsys):
    pytest.importorskip("tqdm", reason="the progress bar is tqdm's")
    assert main(["train", "--dataset", "xor", "--hidden", "4", "--epochs", "3"]) == 0
    assert "3/3" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hidden", "0,3"], "positive sizes"),
        (["--dataset", "cifar"], "invalid choice"),
        (["--epochs", "0"], "expected a whole number >= 1, got 0"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_values_exit_with_status_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--dataset", "xor", "--dropout", "1.5", "--quiet"])
    assert exc.value.code == 2
    assert "--dropout: expected a number in [0, 1), got 1.5" in capsys.readouterr().err


XOR = ["train", "--dataset", "xor", "--hidden", "4", "--epochs", "3"]


def test_train_without_tqdm_prints_a_line_per_epoch(capsys, monkeypatch):
    # The README says the sklearn extra is enough: no tqdm, no crash.
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert main(XOR) == 0
    captured = capsys.readouterr()
    assert "test accuracy:" in captured.out
    lines = captured.err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert "loss=" in lines[0]


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        ("sklearn", XOR, "sklearn"),
        ("matplotlib", [*XOR, "--plot", "figures"], "plot"),
        ("threadpoolctl", [*XOR, "--threads", "1"], "sklearn"),
        ("mnist1d", ["train", "--dataset", "mnist1d", "--epochs", "1"], "datasets"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(capsys, monkeypatch, tmp_path, module, argv, extra):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, module, None)  # the import fails
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing trained or printed before the error
    assert captured.err.count("\n") == 1 and captured.err.startswith("chainrule: error: ")
    assert f"pip install 'chainrule[{extra}]'" in captured.err
    assert not (tmp_path / "figures").exists()


def test_the_plot_folder_is_checked_before_training(capsys, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    fitted = []
    monkeypatch.setattr(
        "sklearn.model_selection.train_test_split", lambda *a, **k: fitted.append(1)
    )
    assert main([*XOR, "--quiet", "--plot", str(blocker / "figures")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not fitted
    assert captured.err == f"chainrule: error: --plot: {str(blocker)!r} is not a folder\n"


def test_divergence_is_one_line_and_status_2(capsys):
    argv = [*XOR, "--optimizer", "sgd", "--lr", "1e30", "--epochs", "50", "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("chainrule: error: training diverged at epoch ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_traceback_from_the_console_script_when_training_fails(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", *XOR, "--quiet", "--plot", str(tmp_path / "x" / "y")],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # a missing folder is created, not an error
    blocker = tmp_path / "f"
    blocker.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", *XOR, "--quiet", "--plot", str(blocker)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def blas_threads():
    from threadpoolctl import threadpool_info

    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


def test_threads_pins_blas_while_training(capsys, monkeypatch):
    pytest.importorskip("threadpoolctl", reason="--threads pins BLAS with threadpoolctl")
    from chainrule.estimators.mlp import MLPClassifier

    before = blas_threads()
    assert before, "no BLAS library found to pin"
    wanted = max(before) + 1  # differs from what BLAS uses unpinned
    seen = []
    fit = MLPClassifier.fit

    def watching_fit(self, *args, **kwargs):
        seen.append(blas_threads())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(MLPClassifier, "fit", watching_fit)
    assert main([*XOR, "--quiet", "--threads", str(wanted)]) == 0
    assert seen == [{wanted}]
    assert blas_threads() == before  # put back afterwards


# -- --optimizer is MLPClassifier's solver, lbfgs included ---------------------------------
def test_the_optimizers_are_the_estimators_solvers():
    from chainrule.cli.train import OPTIMIZERS
    from chainrule.estimators.settings import SOLVERS

    assert sorted(OPTIMIZERS) == sorted(SOLVERS)


def test_train_with_lbfgs_is_the_estimators_lbfgs(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="the figures are drawn by matplotlib")
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from chainrule.datasets import catalog
    from chainrule.estimators.mlp import MLPClassifier

    argv = ["train", "--dataset", "iris", "--hidden", "8", "--optimizer", "lbfgs"]
    assert main([*argv, "--epochs", "40", "--scale", "--plot", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    # The same classifier, built here, on the command's split and defaults.
    X, y = catalog.load("iris")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    clf = MLPClassifier((8,), solver="lbfgs", max_iter=40, alpha=1e-4, random_state=0)
    model = make_pipeline(StandardScaler(), clf).fit(X_train, y_train)
    accuracy = accuracy_score(y_test, model.predict(X_test))
    assert f"test accuracy: {accuracy:.4f}\n" in captured.out
    assert clf.n_iter_ < 40  # converged: an adam run would have used the 40 epochs
    assert f"stopped after {clf.n_iter_} iterations (completed)" in captured.out
    # L-BFGS's lines, one per iteration, on stderr; stdout holds the results only.
    iterations = [line for line in captured.err.splitlines() if line.startswith("Iteration ")]
    assert len(iterations) == clf.n_iter_ and "Iteration" not in captured.out
    assert sorted(path.name for path in tmp_path.iterdir()) == ["history.png", "weights.png"]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--batch-size", "8"], "--batch-size"),
        (["--lr", "0.1"], "--lr"),
        (["--schedule", "constant"], "--schedule"),
        (["--patience", "3"], "--patience"),
        (["--dropout", "0.1"], "--dropout"),
        (["--early-stopping"], "--early-stopping"),
        (["--lr", "0.1", "--early-stopping"], "--lr, --early-stopping"),
    ],
)
def test_lbfgs_refuses_the_options_of_the_stochastic_optimizers(options, named, capsys):
    assert main([*XOR, "--optimizer", "lbfgs", *options]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"chainrule: error: {named}: only for the stochastic optimizers (--optimizer adam, "
        "adamw or sgd); lbfgs trains on all rows at once\n"
    )


def test_an_optimizer_the_estimators_lack_is_refused_naming_the_choices(capsys):
    # fit's optimizers (momentum, rmsprop, ...) are not the estimators' solvers.
    with pytest.raises(SystemExit) as exc:
        main([*XOR, "--optimizer", "rmsprop"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'rmsprop'" in err
    assert "'adam', 'adamw', 'sgd', 'lbfgs'" in err
