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
- the header must be UTF-8; its JSON is parsed with limits on its size, item count
  (counted before parsing), key length, depth and string length;
- every tensor's byte count (shape times item size, in Python integers) must match its
  offsets, and the offsets must tile the data exactly (the data's size comes from the
  file system), before any data is read;
- the tensors are then read one at a time, straight into their arrays: a file is
  refused after reading at most its header, and loading one costs its tensors and a
  bounded amount more;
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

MAX_HEADER_BYTES = 4 * 2**20
"""The largest header accepted, 4 MiB; chainrule's writer refuses to write a larger one.

Each tensor takes about 100 bytes of the header (its entry, and its copy in the
description) plus twice its name: 4 MiB holds some 10,000 tensors with room to spare
for the description and a history. The bound keeps the cost of refusing a file small:
at most 4 MiB read and a parse bounded by :data:`MAX_JSON_ITEMS`.
"""

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
            raise ValueError(f"tensor names must be non-empty strings, not {quote(name)}")
        if len(name) > MAX_KEY_CHARS:
            raise ValueError(
                f"tensor names may have at most {MAX_KEY_CHARS} characters, got {len(name)}: "
                f"{quote(name)}"
            )
        end = offset + array.nbytes
        table[name] = {
            "dtype": dtype_code(array.dtype),
            "shape": [int(n) for n in array.shape],
            "data_offsets": [offset, end],
        }
        offset = end
    return table


def header_bytes(table: Mapping[str, Any], metadata: Mapping[str, str]) -> bytes:
    """The length prefix and the JSON header, padded with spaces to a multiple of 8.

    Raises ``ValueError`` for a header over :data:`MAX_HEADER_BYTES`: such a file could
    not be read back, so it is never written.
    """
    header = {"__metadata__": dict(metadata), **table}
    text = json.dumps(header, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)
    if len(text) > MAX_HEADER_BYTES or _count_items(text) > MAX_JSON_ITEMS:
        raise ValueError(
            f"the file's header would take {len(text)} bytes and {_count_items(text)} JSON "
            f"items, more than the {MAX_HEADER_BYTES} bytes and {MAX_JSON_ITEMS} items a "
            "chainrule file may hold; such a file could not be loaded (store fewer tensors "
            "or a shorter history)"
        )
    return struct.pack("<Q", len(text)) + text


def write(f: BinaryIO, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """Write ``arrays`` (laid out by :func:`layout`) and ``metadata`` to a binary file."""
    f.write(header_bytes(layout(arrays), metadata))
    for array in arrays.values():
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        f.write(np.ascontiguousarray(little).tobytes())


class Reader:
    """An open safetensors file whose header is parsed and checked; the data is not read yet.

    :func:`open_file` returns one (use it in a ``with`` block). Everything that can be
    checked without the data has been: the header's size against the file's, the JSON
    (with the limits below), every entry, and the tiling of the data section, whose
    size comes from the file system. :meth:`tensors` then reads the tensors one at a
    time, straight into their arrays.

    Attributes
    ----------
    header : dict
        The parsed JSON header: the tensor table and ``"__metadata__"``.
    where : str
        The file's name, quoted, for messages.
    """

    def __init__(self, f: BinaryIO, header: dict[str, Any], n_data: int, where: str) -> None:
        self._f = f
        self.header = header
        self.n_data = n_data
        self.where = where

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()

    def tensors(self, hasher: Any = None) -> dict[str, np.ndarray]:
        """Writable, native-byte-order arrays of every tensor, in the header's order.

        Parameters
        ----------
        hasher : hashlib object, optional
            Fed the data section's bytes as they are read, in file order.
        """
        entries = [(name, e) for name, e in self.header.items() if name != "__metadata__"]
        found: dict[str, np.ndarray] = {}
        for name, entry in sorted(entries, key=lambda item: item[1]["data_offsets"]):
            stored = DTYPES[entry["dtype"]]
            begin, end = entry["data_offsets"]
            try:
                flat = np.empty((end - begin) // stored.itemsize, dtype=stored)
                bytes_view = memoryview(flat).cast("B")
                if self._f.readinto(bytes_view) != end - begin:
                    raise ModelFileError(f"{self.where} changed size while it was read")
                if hasher is not None:
                    hasher.update(bytes_view)
                array = flat.reshape(entry["shape"])
            except (ValueError, OverflowError, MemoryError) as exc:
                raise ModelFileError(f"tensor {quote(name)} in {self.where}: {exc}") from None
            found[name] = array.astype(stored.newbyteorder("="), copy=False)
        if self._f.read(1):
            raise ModelFileError(f"{self.where} changed size while it was read")
        return {name: found[name] for name, _ in entries}


def open_file(path: str | os.PathLike[str]) -> Reader:
    """Open a safetensors file and check its header, reading none of its data.

    The size checks come first: the declared header length against
    :data:`MAX_HEADER_BYTES` and the file's size, before the header is read; the
    header's JSON is parsed with limits (see :func:`parse_json`); the tensors must tile
    the data section exactly. A file of any size is refused after reading at most
    ``8 + MAX_HEADER_BYTES`` bytes.
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
    try:
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
                f"{MAX_HEADER_BYTES} bytes a chainrule file may hold; it is corrupt or not a "
                "chainrule file"
            )
        if n_header > size - 8:
            raise ModelFileError(
                f"{where} declares a {n_header}-byte header but holds only {size - 8} bytes "
                "after the length; it is truncated or not a safetensors file"
            )
        raw = f.read(n_header)
        if len(raw) != n_header:
            raise ModelFileError(f"{where} changed size while it was read")
        header = parse_header(raw, where)
        _check_tiling(header, size - 8 - n_header, where)
    except BaseException:
        f.close()
        raise
    return Reader(f, header, size - 8 - n_header, where)


MAX_DEPTH = 32
"""The deepest nesting of JSON accepted; chainrule writes at most a few levels."""

MAX_NDIM = 64
"""The most dimensions a tensor may declare (NumPy's own limit)."""

MAX_JSON_ITEMS = 250_000
"""The most JSON items (values, keys, containers) a header may hold, nested JSON included.

Counted before parsing as the header's commas, colons and opening brackets: an upper
bound that also covers the JSON nested in the metadata's strings. A network of a
thousand layers with its optimizer state, or a history of 100,000 epochs, fits.
"""

MAX_KEY_CHARS = 1024
"""The longest key (a tensor's name, a metadata key, a description's field) accepted."""

MAX_STRING_CHARS = 65_536
"""The longest string value accepted in a description (not in the header's metadata)."""

MAX_QUOTE = 60
"""The most characters of a name or value from a file that a message quotes."""


def quote(value: Any) -> str:
    """``repr(value)`` cut to :data:`MAX_QUOTE` characters: a file's text in a message."""
    text = repr(value)
    return text if len(text) <= MAX_QUOTE else f"{text[:MAX_QUOTE]}...({len(text)} chars)"


def _count_items(text: str | bytes) -> int:
    """An upper bound on the JSON items of ``text``, nested JSON in its strings included."""
    if isinstance(text, str):
        return text.count(",") + text.count(":") + text.count("{") + text.count("[")
    return text.count(b",") + text.count(b":") + text.count(b"{") + text.count(b"[")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    for key, _ in pairs:
        if len(key) > MAX_KEY_CHARS:
            raise ModelFileError(
                f"the JSON has a {len(key)}-character key {quote(key)}, longer than the "
                f"{MAX_KEY_CHARS} allowed"
            )
    result = dict(pairs)
    if len(result) != len(pairs):
        dupes = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ModelFileError(f"the JSON repeats the key(s) {quote(dupes[:5])}")
    return result


def check_depth(value: Any, what: str, max_string: int | None = None) -> None:
    """Refuse deep nesting, long keys and strings over ``max_string`` (None: any length)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{what} nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and len(key) > MAX_KEY_CHARS:
                    raise ModelFileError(
                        f"{what} has a {len(key)}-character key {quote(key)}, longer than the "
                        f"{MAX_KEY_CHARS} allowed"
                    )
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif max_string is not None and isinstance(item, str) and len(item) > max_string:
            raise ModelFileError(
                f"{what} holds a {len(item)}-character string {quote(item)}, longer than "
                f"the {max_string} allowed"
            )


def parse_json(text: bytes | str, what: str, max_string: int | None = MAX_STRING_CHARS) -> Any:
    """Parse JSON from a file, with limits; every failure is a ModelFileError.

    Bytes must be UTF-8, decoded strictly here (``json.loads`` would take UTF-16 and
    UTF-32 too). Before parsing, the text is bounded by :data:`MAX_HEADER_BYTES` and
    its items by :data:`MAX_JSON_ITEMS`, so that the parsed objects take a bounded
    amount of memory; while parsing, keys are bounded by :data:`MAX_KEY_CHARS` and
    repeated keys are refused; after it, the depth (:data:`MAX_DEPTH`) and the string
    values (``max_string``, None for no limit) are checked.
    """
    if len(text) > MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{what} takes {len(text)} bytes, more than the {MAX_HEADER_BYTES} allowed"
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelFileError(
                f"{what} is not UTF-8, the only encoding of safetensors headers "
                f"(byte {exc.start} is invalid)"
            ) from None
    n_items = _count_items(text)
    if n_items > MAX_JSON_ITEMS:
        raise ModelFileError(
            f"{what} holds up to {n_items} JSON items, more than the {MAX_JSON_ITEMS} allowed"
        )
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except ModelFileError as exc:
        raise ModelFileError(f"{what}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, deep nesting
        raise ModelFileError(f"{what} is not valid JSON: {str(exc)[:200]}") from None
    check_depth(value, what, max_string)
    return value


def parse_header(raw: bytes, where: str) -> dict[str, Any]:
    """Parse and check the JSON header: entries, dtypes, shapes, offsets, metadata."""
    if not raw.startswith(b"{"):
        raise ModelFileError(f"{where} is not a safetensors file: its header is not a JSON object")
    header = parse_json(raw, f"the header of {where}", max_string=None)
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
            f"tensor {quote(name)} in {where} must have exactly the fields "
            f"{sorted(_ENTRY_KEYS)}, got {entry!r:.100}"
        )
    if entry["dtype"] not in DTYPES:
        raise ModelFileError(
            f"tensor {quote(name)} in {where} has unknown dtype {entry['dtype']!r:.40}"
        )
    shape, offsets = entry["shape"], entry["data_offsets"]
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(_is_count(n) and n < 2**63 for n in shape)
    ):
        raise ModelFileError(f"tensor {quote(name)} in {where} has an invalid shape {shape!r:.100}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise ModelFileError(
            f"tensor {quote(name)} in {where} has invalid offsets {offsets!r:.100}"
        )
    begin, end = offsets
    # Python integers: a huge declared shape cannot overflow and is never allocated.
    n_bytes = math.prod(shape) * DTYPES[entry["dtype"]].itemsize
    if end < begin or end - begin != n_bytes:
        raise ModelFileError(
            f"tensor {quote(name)} in {where}: shape {shape} of {entry['dtype']} needs {n_bytes} "
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
                f"tensor {quote(name)} in {where} starts at byte {begin} of the data, expected "
                f"{position}: the tensors overlap or leave a gap"
            )
        position = end
    if position != n_data:
        raise ModelFileError(
            f"the tensors of {where} take {position} bytes but the data section holds "
            f"{n_data}; the file is truncated or has extra bytes"
        )
