"""The benchmark scripts run (tiny sizes, one round); no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.bench import report, seed_step, workload
from chainrule.cli import main as cli_main

pytest.importorskip("threadpoolctl", reason="the bench extra pins BLAS threads with it")
pytest.importorskip("sklearn", reason="the bench compares with scikit-learn (bench extra)")


def test_bench_quick_writes_every_measurement(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli_main(["bench", "--quick", "--threads", "1", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    epoch = results["epoch_seconds"]["1"]
    for name in (
        "matmul floor (8 products)",
        "chainrule engine (fit)",
        "chainrule MLPClassifier",
        "NumPy loop (hand-written)",
        "NumPy loop, fit's checks",
        "scikit-learn MLPClassifier",
    ):
        assert epoch[name] > 0, name
        assert name in printed
    for name in ("notebook NumPy step", "chainrule lean step (Workspace)"):
        assert results["seed_step_seconds"][name] > 0
    ratios = results["seed_step_ratio"]  # ABBA-paired, lean step over each other step
    assert ratios["chainrule lean step (Workspace) / notebook NumPy step"] > 0
    assert "seed step / notebook step" in printed
    assert "engine / matmul floor" in printed and "memory sgd / budget" in printed
    assert "engine / NumPy loop" in printed and "bound: floor / NumPy loop" in printed
    assert "engine / scikit-learn float32" in printed  # reported, without a target
    assert "engine / NumPy loop, fit's checks" in printed
    assert "bound: floor / scikit-learn float32" not in printed
    assert "engine / engine on NumPy kernels" in printed
    assert epoch["chainrule engine, NumPy kernels"] > 0
    assert "CPU time stolen by the host during the rounds" in printed
    assert "steal" in results
    assert set(results["tracing_ratio"]) == {"seed", "batch"}
    assert all(r > 0 for r in results["tracing_ratio"].values())
    assert "tracing off / no hooks, seed" in printed
    # Same initial weights and batch order: the implementations end at the same loss.
    losses = results["loss_after_epoch"]
    for name in (
        "chainrule MLPClassifier",
        "NumPy loop (hand-written)",
        "NumPy loop, fit's checks",
        "chainrule engine, NumPy kernels",
    ):
        assert losses[name] == pytest.approx(losses["chainrule engine (fit)"], rel=1e-4), name
    if "PyTorch CPU" in losses:
        assert losses["PyTorch CPU"] == pytest.approx(losses["chainrule engine (fit)"], rel=1e-4)
        assert losses["PyTorch CPU, Adam"] == pytest.approx(
            losses["chainrule engine, Adam"], rel=1e-4
        )
    assert losses["chainrule engine (fit)"] < results["initial_loss"]
    # The checks change no number: the same steps, applied once all are computed.
    assert losses["NumPy loop, fit's checks"] == losses["NumPy loop (hand-written)"]


def test_the_checked_numpy_loop_stops_at_non_finite_steps():
    from chainrule.bench import others, workload

    w = workload.make_workload(n_rows=64, sizes=(8, 4, 3), batch=16)
    w.weights[1][0][0, 0] = np.inf  # W2: every step of the first batch becomes NaN or inf
    with pytest.raises(FloatingPointError, match="batch 0"), np.errstate(all="ignore"):
        others.numpy_loop(w, checked=True)
    w = workload.make_workload(n_rows=64, sizes=(8, 4, 3), batch=16)
    w.X[5, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        others.numpy_loop(w, checked=True)


def test_hookless_baseline_does_the_same_work_as_tracer_none():
    # The "tracing off" target compares these two: same loss and gradients, bit for bit.
    setups = report.tracing_setups(workload.make_workload(256, (64, 32, 16, 10)))
    assert set(setups) == {"seed", "batch"}
    for traced, hookless in setups.values():
        (E1, g1), (E2, g2) = traced(), hookless()
        assert E1 == E2
        assert list(g1) == list(g2)
        for name in g1:
            np.testing.assert_array_equal(g1[name], g2[name])


def test_paired_ratios_alternate_the_order():
    calls: list[str] = []
    a, b = (lambda: calls.append("a")), (lambda: calls.append("b"))
    times_a, times_b, ratios = seed_step.paired_ratios(a, b, calls=2, pairs=4)
    # ABBA: each pair runs `calls` calls of one, then of the other, the order alternating.
    assert "".join(calls) == "aabb" + "bbaa" + "aabb" + "bbaa"
    assert len(times_a) == len(times_b) == len(ratios) == 4
    assert ratios == [x / y for x, y in zip(times_a, times_b, strict=True)]
    assert seed_step.calls_for(a, seconds=0.0) == 1


def test_bench_refuses_bad_options(tmp_path, capsys):
    assert cli_main(["bench", "--rounds", "0", "--output", str(tmp_path / "x.json")]) == 2
    assert "--rounds, --rows and --threads must be positive" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_scaling_benchmark_quick_writes_its_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="the scaling benchmark plots with matplotlib")
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_scaling.py"
    out = tmp_path / "scaling"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(out.with_suffix(".json").read_text())
    assert [p["sizes"][1] for p in results["width"]] == [64, 256]
    assert all(p["engine_s"] > 0 and p["floor_s"] > 0 for p in results["rows"])
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_targets_pair_the_times_of_each_round():
    # A busy round slows both implementations it times: the ratio within each round
    # (0.5, 0.5, 1.5) has median 0.5, where the medians alone (3 / 2) would say 1.5.
    times = {
        "chainrule engine (fit)": [1.0, 4.0, 3.0],
        "matmul floor (8 products)": [2.0, 8.0, 2.0],
    }
    results = {
        "epoch_seconds_all": {"2": times},
        "seed_step_ratio": {},
        "tracing_ratio": {},
    }
    rows = {name: ratio for name, ratio, _ in report.targets(results, "2")}
    assert rows["engine / matmul floor"] == 0.5
    assert rows["engine / PyTorch"] is None  # not measured: no ratio


def test_bounds_put_the_floor_in_the_engines_place():
    # Per round: floor / scikit-learn = 0.6, 0.4, 0.7 (median 0.6 > 0.5): unreachable.
    times = {
        "chainrule engine (fit)": [1.0, 1.0, 1.0],
        "matmul floor (8 products)": [0.6, 0.8, 0.7],
        "scikit-learn MLPClassifier": [1.0, 2.0, 1.0],
        "PyTorch CPU": [2.0, 2.0, 2.0],
    }
    results = {"epoch_seconds_all": {"2": times}, "seed_step_ratio": {}, "tracing_ratio": {}}
    rows = {name: (ratio, limit) for name, ratio, limit in report.bounds(results, "2")}
    assert "bound: floor / scikit-learn float32" not in rows  # reported, without a target
    assert rows["bound: floor / PyTorch"] == (0.35, 0.7)
    assert rows["bound: floor / PyTorch Adam"][0] is None  # not measured
    assert not any("matmul floor" in name for name in rows)  # engine / floor has none
    assert report._verdict("bound: floor / PyTorch", 0.35, 0.8) == "reachable"
    assert report._verdict("bound: floor / scikit-learn float32", 0.6, 0.5) == "UNREACHABLE"
    assert report._verdict("engine / PyTorch", 0.9, 0.8) == "NO"
    assert report._verdict("engine / scikit-learn float32", 0.6, None) == "(reported)"


def test_the_floor_target_has_a_limit_per_thread_count():
    times = {"chainrule engine (fit)": [1.2, 1.3], "matmul floor (8 products)": [1.0, 1.0]}
    results = {"epoch_seconds_all": {t: times for t in ("1", "2", "4")}}
    results.update(seed_step_ratio={}, tracing_ratio={})
    for threads, limit in (("1", 1.15), ("2", 1.4), ("4", 1.4)):
        rows = {name: (ratio, lim) for name, ratio, lim in report.targets(results, threads)}
        assert rows["engine / matmul floor"] == (pytest.approx(1.25), limit)
        assert rows["engine Adam / matmul floor"] == (None, 1.6)


def test_steal_share_from_two_readings_of_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal (guest fields after are ignored)
    stat.write_text("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 50 0 25 400 5 0 2 18 0 0\n")
    before = report.cpu_times(str(stat))
    assert before == (35, 1000)
    stat.write_text("cpu  400 0 100 1200 10 0 5 285 0 0\n")
    after = report.cpu_times(str(stat))
    assert report.steal_share(before, after) == pytest.approx(250 / 1000)
    assert report.cpu_times(str(tmp_path / "missing")) is None
    assert report.steal_share(None, after) is None
    assert report.steal_share(after, after) is None  # no time passed
    stat.write_text("intr 1 2 3\n")
    assert report.cpu_times(str(stat)) is None
