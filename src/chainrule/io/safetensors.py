"""A strict reader and writer of the safetensors format, in plain Python and NumPy.

The format (https://github.com/huggingface/safetensors) is an 8-byte little-endian
header length ``N``, ``N`` bytes of JSON, then the raw little-endian bytes of every
tensor. The JSON maps each tensor's name to ``{"dtype", "shape", "data_offsets"}``
(offsets into the data that follows), plus an optional ``"__metadata__"`` map of
strings to strings. Files written here are read by the ``safetensors`` package and
the other way round.

It is implemented here, not imported, for two reasons: NumPy stays the only core
dependency, and every hostile-file check happens before any allocation:

- the file size is read first; the header length is checked against it (and against
  :data:`MAX_HEADER_BYTES`) before the header is read;
- every tensor's byte count (shape times item size, in Python integers) must match its
  offsets, and the offsets must tile the data exactly, before any array is built;
- nothing in a file is ever executed: JSON and raw numbers only, no pickle.

Every problem raises :class:`~chainrule.errors.ModelFileError`.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from collections import Counter
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from ..errors import ModelFileError

MAX_HEADER_BYTES = 100_000_000
"""The largest header accepted (the limit the ``safetensors`` package uses)."""

DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_CODES = {(dt.kind, dt.itemsize): code for code, dt in DTYPES.items()}
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


def dtype_code(dtype: np.dtype) -> str:
    """The safetensors name of a NumPy dtype (``float64 -> "F64"``)."""
    try:
        return _CODES[(dtype.kind, dtype.itemsize)]
    except KeyError:
        raise TypeError(f"arrays of dtype {dtype} cannot be stored in a safetensors file") from None


def layout(arrays: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """The tensor table of ``arrays`` stored one after the other, in the given order."""
    table: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, array in arrays.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"tensor names must be non-empty strings, not {name!r}")
        end = offset + array.nbytes
        table[name] = {
            "dtype": dtype_code(array.dtype),
            "shape": [int(n) for n in array.shape],
            "data_offsets": [offset, end],
        }
        offset = end
    return table


def header_bytes(table: Mapping[str, Any], metadata: Mapping[str, str]) -> bytes:
    """The length prefix and the JSON header, padded with spaces to a multiple of 8."""
    header = {"__metadata__": dict(metadata), **table}
    text = json.dumps(header, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def write(f: BinaryIO, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """Write ``arrays`` (laid out by :func:`layout`) and ``metadata`` to a binary file."""
    f.write(header_bytes(layout(arrays), metadata))
    for array in arrays.values():
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        f.write(np.ascontiguousarray(little).tobytes())


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], bytes]:
    """Read a safetensors file and check its header against its size.

    Returns
    -------
    header : dict
        The parsed JSON header (tensor table and ``"__metadata__"``), checked: every
        entry is well-formed and the tensors tile the data section exactly.
    data : bytes
        The data section, exactly as stored; :func:`arrays` turns it into arrays.
    """
    where = repr(os.fspath(path))
    # O_NONBLOCK: opening a FIFO must not hang; it is refused as not a regular file below.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{where} is not a regular file")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        size = info.st_size
        if size < 8:
            raise ModelFileError(
                f"{where} is {size} bytes long, too short for a safetensors file "
                "(8-byte header length, then the header); is it truncated?"
            )
        (n_header,) = struct.unpack("<Q", f.read(8))
        if n_header > MAX_HEADER_BYTES:
            raise ModelFileError(
                f"{where} declares a {n_header}-byte header, more than the "
                f"{MAX_HEADER_BYTES} bytes allowed; it is corrupt or not a safetensors file"
            )
        if n_header > size - 8:
            raise ModelFileError(
                f"{where} declares a {n_header}-byte header but holds only {size - 8} bytes "
                "after the length; it is truncated or not a safetensors file"
            )
        raw = f.read(n_header)
        data = f.read(size - 8 - n_header)
        if len(raw) != n_header or len(data) != size - 8 - n_header or f.read(1):
            raise ModelFileError(f"{where} changed size while it was read")
    header = parse_header(raw, where)
    _check_tiling(header, len(data), where)
    return header, data


MAX_DEPTH = 32
"""The deepest nesting of JSON accepted; chainrule writes at most a few levels."""

MAX_NDIM = 64
"""The most dimensions a tensor may declare (NumPy's own limit)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        dupes = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ModelFileError(f"the JSON repeats the key(s) {dupes[:5]!r:.200}")
    return result


def check_depth(value: Any, what: str) -> None:
    """Refuse deep nesting here, so that no later recursive walk can overflow the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{what} nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def parse_json(text: bytes | str, what: str) -> Any:
    """``json.loads`` that refuses repeated keys and turns every failure into ModelFileError."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except ModelFileError as exc:
        raise ModelFileError(f"{what}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, deep nesting
        raise ModelFileError(f"{what} is not valid JSON: {str(exc)[:200]}") from None
    check_depth(value, what)
    return value


def parse_header(raw: bytes, where: str) -> dict[str, Any]:
    """Parse and check the JSON header: entries, dtypes, shapes, offsets, metadata."""
    if not raw.startswith(b"{"):
        raise ModelFileError(f"{where} is not a safetensors file: its header is not a JSON object")
    header = parse_json(raw, f"the header of {where}")
    if not isinstance(header, dict):
        raise ModelFileError(f"the header of {where} is not a JSON object")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"the __metadata__ of {where} must map strings to strings")
    for name, entry in header.items():
        if name != "__metadata__":
            _check_entry(name, entry, where)
    return header


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_entry(name: str, entry: object, where: str) -> None:
    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
        raise ModelFileError(
            f"tensor {name!r} in {where} must have exactly the fields "
            f"{sorted(_ENTRY_KEYS)}, got {entry!r:.100}"
        )
    if entry["dtype"] not in DTYPES:
        raise ModelFileError(f"tensor {name!r} in {where} has unknown dtype {entry['dtype']!r:.40}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(_is_count(n) and n < 2**63 for n in shape)
    ):
        raise ModelFileError(f"tensor {name!r} in {where} has an invalid shape {shape!r:.100}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise ModelFileError(f"tensor {name!r} in {where} has invalid offsets {offsets!r:.100}")
    begin, end = offsets
    # Python integers: a huge declared shape cannot overflow and is never allocated.
    n_bytes = math.prod(shape) * DTYPES[entry["dtype"]].itemsize
    if end < begin or end - begin != n_bytes:
        raise ModelFileError(
            f"tensor {name!r} in {where}: shape {shape} of {entry['dtype']} needs {n_bytes} "
            f"bytes, but its offsets [{begin}, {end}] span {end - begin}"
        )


def _check_tiling(header: dict[str, Any], n_data: int, where: str) -> None:
    """The tensors must tile the data section exactly: no gap, no overlap, nothing after."""
    entries = [(name, e) for name, e in header.items() if name != "__metadata__"]
    position = 0
    for name, entry in sorted(entries, key=lambda item: item[1]["data_offsets"]):
        begin, end = entry["data_offsets"]
        if begin != position:
            raise ModelFileError(
                f"tensor {name!r} in {where} starts at byte {begin} of the data, expected "
                f"{position}: the tensors overlap or leave a gap"
            )
        position = end
    if position != n_data:
        raise ModelFileError(
            f"the tensors of {where} take {position} bytes but the data section holds "
            f"{n_data}; the file is truncated or has extra bytes"
        )


def arrays(header: dict[str, Any], data: bytes, where: str) -> dict[str, np.ndarray]:
    """Writable, native-byte-order copies of every tensor of a checked header, in file order."""
    entries = [(name, e) for name, e in header.items() if name != "__metadata__"]
    out = {}
    for name, entry in entries:
        stored = DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        native = stored.newbyteorder("=")
        try:
            if begin == end:  # an empty tensor; frombuffer refuses an offset at the very end
                out[name] = np.zeros(entry["shape"], dtype=native)
                continue
            flat = np.frombuffer(data, stored, count=(end - begin) // stored.itemsize, offset=begin)
            out[name] = flat.reshape(entry["shape"]).astype(native, copy=True)
        except (ValueError, OverflowError) as exc:  # e.g. a dimension beyond NumPy's range
            raise ModelFileError(f"tensor {name!r} in {where}: {exc}") from None
    return out
