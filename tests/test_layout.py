"""The package layout: old module paths still work, for one release, and say where they went."""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import DEPRECATED_ALIASES

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "chainrule"
WINGS = {"bench", "cli", "datasets", "estimators", "evaluation", "explain", "interop", "io"}
WINGS |= {"learn", "training"}

OLD_TO_NEW = {
    "atomic": ("io.atomic", "atomic_write"),
    "batches": ("training.sources", "batch_source"),
    "callbacks": ("training.callbacks", "History"),
    "checkpoint": ("io.checkpoint", "save_checkpoint"),
    "cli_train": ("cli.train", "run"),
    "guards": ("training.guard", "check_step_finite"),
    "metrics": ("evaluation.metrics", "classification_metrics"),
    "monitors": ("training.callbacks", "GradientNorms"),
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


def module_graph(root: Path) -> dict[str, set[str]]:
    """Which module of the package under ``root`` imports which, from the source.

    Every import counts: at the top, inside a function, under ``TYPE_CHECKING``.
    Relative imports are resolved; importing a package counts as importing its
    ``__init__`` (``from . import x`` counts as importing the module ``x`` when it is one).
    """
    modules: dict[str, tuple[Path, bool]] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                named = [f"{base}.{alias.name}" for alias in node.names]
                submodules = [target for target in named if target in modules]
                targets = submodules if len(submodules) == len(named) else [base, *submodules]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]  # a name inside a module: the module
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_check_finds_a_cycle_through_a_function_and_type_checking(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import f\n"
    )
    (package / "c.py").write_text("from . import a\n")
    assert cycles(module_graph(package)) == [["pkg.a", "pkg.sub.b"]]


def test_no_import_cycles():
    assert cycles(module_graph(PACKAGE)) == []


def test_the_engine_contract_lists_every_engine_module():
    config = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (engine,) = [c for c in contracts if c["name"] == "The engine never imports a wing"]
    top = {path.stem for path in PACKAGE.glob("*.py")} | {
        path.parent.name for path in PACKAGE.glob("*/__init__.py")
    }
    expected = top - WINGS - set(DEPRECATED_ALIASES) - {"__init__", "__main__"}
    assert sorted(engine["source_modules"]) == sorted(f"chainrule.{m}" for m in expected)


def test_no_engine_module_imports_a_wing():
    graph = module_graph(PACKAGE)
    engine = {m for m in graph if m.count(".") == 1 and m.split(".")[1] not in WINGS}
    engine -= {f"chainrule.{alias}" for alias in DEPRECATED_ALIASES} | {"chainrule.__main__"}
    upward = {
        (m, target)
        for m in engine
        for target in graph[m]
        if target.count(".") >= 1 and target.split(".")[1] in WINGS
    }
    assert upward == set()


def test_a_trace_without_renderers_shows_its_repr(monkeypatch):
    from chainrule import Trace, seed_example, train_step
    from chainrule import trace as trace_module

    seed, trace = seed_example(), Trace()
    train_step(seed.network, seed.x, seed.y, lr=seed.lr, tracer=trace)
    assert "<math" in trace._repr_html_()  # import chainrule registered the explanations'
    monkeypatch.setattr(trace_module, "_RENDERERS", {})
    assert trace._repr_html_() is None and trace._repr_markdown_() is None
    with pytest.raises(ValueError, match="kind must be 'html' or 'markdown'"):
        trace_module.register_renderer("latex", str)
