"""The package layout: old module paths still work, for one release, and say where they went."""

from __future__ import annotations

import importlib
import sys

import pytest

OLD_TO_NEW = {
    "atomic": ("io.atomic", "atomic_write"),
    "batches": ("training.sources", "batch_source"),
    "callbacks": ("training.callbacks", "History"),
    "checkpoint": ("io.checkpoint", "save_checkpoint"),
    "guards": ("training.guards", "check_step_finite"),
    "metrics": ("evaluation.metrics", "classification_metrics"),
    "monitors": ("training.monitors", "GradientNorms"),
    "onnx_export": ("interop.onnx", "export_onnx"),
    "plot": ("evaluation.plots", "plot_history"),
    "spec": ("datasets.spec", "load_spec"),
    "torch_interop": ("interop.torch", "to_torch"),
    "workspace": ("training.update", "Workspace"),
}


@pytest.mark.parametrize("old", sorted(OLD_TO_NEW))
def test_old_path_warns_and_forwards(old):
    new, name = OLD_TO_NEW[old]
    sys.modules.pop(f"chainrule.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"chainrule.{old} moved to chainrule.{new}"):
        module = importlib.import_module(f"chainrule.{old}")
    target = importlib.import_module(f"chainrule.{new}")
    assert getattr(module, name) is getattr(target, name)


@pytest.mark.parametrize(
    ("face", "name"),
    [
        ("chainrule.training", "fit"),
        ("chainrule.io", "save"),
        ("chainrule.io", "load"),
        ("chainrule.datasets", "seed_example"),
        ("chainrule.cli", "main"),
    ],
)
def test_documented_package_paths_keep_working(face, name):
    assert callable(getattr(importlib.import_module(face), name))
