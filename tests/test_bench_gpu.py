"""The GPU benchmark runs on the CPU (tiny sizes, one round); no timing is asserted.

Its engine epoch and PyTorch's (autograd, ``torch.optim.SGD``) start from the same
weights and batch order and must end at the same loss. The engine epoch also runs on
``array_api_strict``'s second device, as it would on a GPU's arrays.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.bench import gpu, workload
from chainrule.bench.others import torch_loop

torch = pytest.importorskip("torch", reason="the GPU benchmark compares with PyTorch")


def test_bench_gpu_on_the_cpu_ends_at_pytorchs_loss(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    argv = ["--device", "cpu", "--rows", "256", "--width", "24", "--rounds", "1"]
    assert gpu.main([*argv, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert results["device"] == "cpu" and results["device_name"]
    assert results["sizes"] == [784, 24, 24, 10] and results["rows"] == 256
    losses = results["loss_after_epoch"]
    assert set(losses) == {gpu.ENGINE, gpu.TORCH}
    assert losses[gpu.ENGINE] == pytest.approx(losses[gpu.TORCH], rel=1e-5)
    assert losses[gpu.TORCH] < results["initial_loss"]
    assert all(len(t) == 1 and t[0] > 0 for t in results["seconds"].values())
    assert len(results["ratio_to_pytorch"][gpu.ENGINE]) == 1
    for text in (gpu.ENGINE, gpu.TORCH, "samples/s", "/ PyTorch", "device cpu"):
        assert text in printed


def test_engine_epoch_on_a_second_device_matches_pytorch():
    xps = pytest.importorskip("array_api_strict", reason="array-api-strict (test extra)")
    device, cpu = xps.Device("device1"), xps.Device("CPU_DEVICE")
    backend = gpu.Backend(
        "array_api_strict:device1",
        lambda a: xps.asarray(a, device=device, copy=True),
        lambda a: np.from_dlpack(a.to_device(cpu)).copy(),
        lambda: None,
    )
    w = workload.make_workload(300, (20, 16, 12, 5), batch=32)
    _, weights = gpu.engine_epoch(w, backend)
    _, expected = torch_loop(w)
    for (W, b), (W_t, b_t) in zip(weights, expected, strict=True):
        np.testing.assert_allclose(W, W_t, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, b_t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "argv",
    [["--rows", "0"], ["--rounds", "-1"], ["--width", "0"], ["--loss-rtol", "2"]],
)
def test_bench_gpu_refuses_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        gpu.main(["--device", "cpu", *argv])
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err
