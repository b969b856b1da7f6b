"""``chainrule train``: metrics, report and loss-curve PNG."""

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
        (["--epochs", "0"], "expected a number >= 1"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["train", *argv])
    assert message in capsys.readouterr().err


def test_bad_values_exit_with_status_2(capsys):
    assert main(["train", "--dataset", "xor", "--dropout", "1.5", "--quiet"]) == 2
    assert "dropout" in capsys.readouterr().err
