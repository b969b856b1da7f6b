"""Forge chainrule files by hand, independently of chainrule's writer.

The files are written with the ``safetensors`` package and carry a correct checksum,
so that a test can check what ``load`` does with content that is well-formed but
wrong (a bad shape, a NaN weight, a newer format version, ...).
"""

from __future__ import annotations

import hashlib
import json
import struct
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

safetensors_numpy = pytest.importorskip(
    "safetensors.numpy", reason="the safetensors package (test extra) forges the test files"
)

PLACEHOLDER = "0" * 64


def _table(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    return {k: [e["dtype"], e["shape"], e["data_offsets"]] for k, e in header.items()}


def forge(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` with the chainrule metadata ``meta`` (its ``tensors`` filled in)."""
    safetensors_numpy.save_file(arrays, str(path), metadata={"x": "x"})
    meta = {**meta, "tensors": meta.get("tensors", _table(path))}
    text = json.dumps(meta)
    safetensors_numpy.save_file(
        arrays, str(path), metadata={"chainrule": text, "chainrule_sha256": PLACEHOLDER}
    )
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    digest = hashlib.sha256(text.encode() + raw[8 + n :]).hexdigest()
    path.write_bytes(raw.replace(PLACEHOLDER.encode(), digest.encode(), 1))
    return path


def network_meta(sizes: list[int], dtype: str = "float64", **changes: Any) -> dict[str, Any]:
    """The metadata of a network file, as chainrule's format describes it."""
    meta = {
        "format": "chainrule",
        "format_version": 1,
        "chainrule_version": "0.1.0",
        "kind": "network",
        "model": {
            "sizes": sizes,
            "activations": [{"name": "sigmoid", "params": {}} for _ in sizes[1:]],
            "frozen": [],
            "dtype": dtype,
        },
    }
    meta.update(changes)
    return meta


def network_arrays(sizes: list[int], dtype: Any = np.float64) -> dict[str, np.ndarray]:
    """Small deterministic parameters for a network of ``sizes``."""
    arrays = {}
    for k, (n_in, n_out) in enumerate(pairwise(sizes), start=1):
        arrays[f"W{k}"] = np.arange(n_in * n_out, dtype=dtype).reshape(n_in, n_out) / 10
        arrays[f"b{k}"] = np.ones(n_out, dtype=dtype)
    return arrays


def resign(path: Path, edit: Any) -> Path:
    """Edit the chainrule metadata of a file (``edit(meta)`` in place) and re-sign it.

    What anyone editing a file can do: the SHA-256 is recomputed from the new text and
    the unchanged data, with nothing but ``json`` and ``hashlib``.
    """
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    meta = json.loads(header["__metadata__"]["chainrule"])
    edit(meta)
    text = json.dumps(meta)
    header["__metadata__"] = {
        "chainrule": text,
        "chainrule_sha256": hashlib.sha256(text.encode() + data).hexdigest(),
    }
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + data)
    return path
