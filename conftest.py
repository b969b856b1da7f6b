"""pytest's collection at the repository root: the deprecated aliases warn on import, so
their doctests are not collected (tests/test_layout.py imports each on purpose)."""

DEPRECATED_ALIASES = {
    "atomic": "io.atomic",
    "batches": "training.sources",
    "callbacks": "training.callbacks",
    "checkpoint": "io.checkpoint",
    "cli_train": "cli.train",
    "guards": "training.guard",
    "metrics": "evaluation.metrics",
    "monitors": "training.callbacks",
    "onnx_export": "interop.onnx",
    "plot": "evaluation.plots",
    "spec": "datasets.spec",
    "torch_interop": "interop.torch",
    "workspace": "training.update",
}

collect_ignore = [f"src/chainrule/{name}.py" for name in DEPRECATED_ALIASES]
