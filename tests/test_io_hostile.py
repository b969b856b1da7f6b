"""Hostile files are refused cheaply: little read, little parsed, short messages.

Each test is one finding of the second reliability review: a header bomb parsed in full,
a 3 GB file read before its header was checked, UTF-16 headers accepted, a 20-million
character name quoted whole. Memory under a hard limit is measured in
``test_io_fuzz_memory.py``; these tests count the bytes read and the objects parsed.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import ModelFileError
from chainrule.io import safetensors as st_format
from chainrule.io.safetensors import MAX_HEADER_BYTES, MAX_JSON_ITEMS, MAX_KEY_CHARS

from ._forge import network_arrays, safetensors_numpy

SafetensorError = pytest.importorskip("safetensors").SafetensorError

GIB = 2**30


def _file(path: Path, text: bytes, data: bytes = b"", declared: int | None = None) -> Path:
    n = len(text) if declared is None else declared
    path.write_bytes(struct.pack("<Q", n) + text + data)
    return path


class CountingReads:
    """Counts the bytes chainrule reads from files, through the one ``open`` it uses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.total = 0
        real = st_format.os.fdopen

        def fdopen(fd, *args, **kwargs):
            f = real(fd, *args, **kwargs)
            return _Counted(f, self)

        monkeypatch.setattr(st_format.os, "fdopen", fdopen)


class _Counted(io.RawIOBase):
    def __init__(self, f, counter: CountingReads) -> None:
        self._f, self._counter = f, counter

    def read(self, n=-1):
        out = self._f.read(n)
        self._counter.total += len(out)
        return out

    def readinto(self, buffer):
        n = self._f.readinto(buffer)
        self._counter.total += n or 0
        return n

    def close(self):
        self._f.close()
        super().close()


def _sparse(path: Path, prefix: bytes, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space beyond ``prefix``."""
    with open(path, "wb") as f:
        f.write(prefix)
        f.truncate(size)
    return path


# -- 1. a small file cannot cost gigabytes -------------------------------------------------
def test_header_bomb_is_refused_before_parsing(tmp_path, monkeypatch):
    # The review's bomb, at the largest size the cap lets through: 1.4 million empty
    # objects that json would have built before any check.
    n = (MAX_HEADER_BYTES - 10) // 3
    text = b'{"x":[' + b",".join([b"{}"] * n) + b"]}"
    text = text[: MAX_HEADER_BYTES - 2] + b"]}" if len(text) > MAX_HEADER_BYTES else text
    bad = _file(tmp_path / "bomb.safetensors", text)
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(
        st_format.json, "loads", lambda *a, **k: parsed.append(1) or real_loads(*a, **k)
    )
    with pytest.raises(ModelFileError, match="JSON items"):
        chainrule.load(bad)
    assert parsed == []  # refused by counting, never parsed


def test_review_sized_header_bomb_is_refused_unread(tmp_path, monkeypatch):
    # 94 MB of `{"x":[{},{},...]}`: over the cap, refused from its 8-byte length alone.
    body = b'{"x":[' + b"{}," * 31_000_000 + b"{}]}"
    bad = _file(tmp_path / "bomb.safetensors", body)
    reads = CountingReads(monkeypatch)
    with pytest.raises(ModelFileError, match="header"):
        chainrule.load(bad)
    with pytest.raises(ModelFileError, match="header"):
        chainrule.load_checkpoint(bad)
    assert reads.total == 2 * 8


def test_long_tensor_name_gives_a_short_message(tmp_path):
    name = "W" * 3_000_000
    text = json.dumps({name: {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}).encode()
    bad = _file(tmp_path / "name.safetensors", text, b"\0" * 8)
    with pytest.raises(ModelFileError, match="character key") as info:
        chainrule.load(bad)
    assert len(str(info.value)) < 400


def test_long_names_and_values_from_a_file_are_quoted_short(tmp_path):
    # Under the key limit, a long name still appears cut in messages.
    name = "x" * MAX_KEY_CHARS
    text = json.dumps({name: {"dtype": "Q99", "shape": [1], "data_offsets": [0, 8]}}).encode()
    bad = _file(tmp_path / "name.safetensors", text, b"\0" * 8)
    with pytest.raises(ModelFileError, match="unknown dtype") as info:
        chainrule.load(bad)
    assert len(str(info.value)) < 400


def test_writer_refuses_what_the_reader_would_refuse(tmp_path):
    with pytest.raises(ValueError, match="at most 1024 characters"):
        chainrule.save_checkpoint(
            tmp_path / "c", {"W" * 2000: np.ones(1)}, {}, np.random.default_rng(0), {}, {}
        )
    history = {"loss": [0.123456789] * (MAX_JSON_ITEMS + 10)}
    with pytest.raises(ValueError, match="could not be loaded"):
        chainrule.save_checkpoint(
            tmp_path / "c", {"W1": np.ones(1)}, {}, np.random.default_rng(0), {}, history
        )
    assert not list(tmp_path.iterdir())


def test_largest_history_that_can_be_written_loads(tmp_path):
    # The limits leave room for what chainrule writes: a checkpoint with a history of
    # 100,000 epochs and a network of 200 layers with Adam's moments.
    params = {f"{p}{k}": np.ones(2) for k in range(1, 201) for p in "Wb"}
    state = {"m": dict(params), "v": dict(params), "t": 3}
    history = {"loss": [0.1 + i * 1e-9 for i in range(100_000)]}
    path = chainrule.save_checkpoint(
        tmp_path / "c", params, state, np.random.default_rng(0), {"epoch": 9}, history
    )
    ckpt = chainrule.load_checkpoint(path)
    assert ckpt.history == history
    assert set(ckpt.optimizer_state["m"]) == set(params)


# -- 2. the data is never read before the header is checked --------------------------------
def test_three_gigabyte_safetensors_file_is_refused_unread(tmp_path, monkeypatch):
    # A real safetensors header (written by the reference package) declaring 3 GiB.
    small = tmp_path / "small.safetensors"
    safetensors_numpy.save_file({"x": np.zeros(8, np.uint8)}, str(small))
    (n,) = struct.unpack("<Q", small.read_bytes()[:8])
    entry = {"dtype": "U8", "shape": [3 * GIB], "data_offsets": [0, 3 * GIB]}
    text = json.dumps({"x": entry}).encode()
    text += b" " * (-len(text) % 8)
    big = _sparse(
        tmp_path / "big.safetensors", struct.pack("<Q", len(text)) + text, 8 + len(text) + 3 * GIB
    )
    reads = CountingReads(monkeypatch)
    with pytest.raises(ModelFileError, match="not a chainrule file"):
        chainrule.load(big)
    assert n > 0 and reads.total == 8 + len(text)


def test_valid_model_followed_by_three_gigabytes_is_refused_unread(tmp_path, monkeypatch):
    good = chainrule.save(chainrule.seed_example().network, tmp_path / "seed.safetensors")
    raw = good.read_bytes()
    bad = _sparse(tmp_path / "padded.safetensors", raw, len(raw) + 3 * GIB)
    (n,) = struct.unpack("<Q", raw[:8])
    reads = CountingReads(monkeypatch)
    with pytest.raises(ModelFileError, match="extra bytes"):
        chainrule.load(bad)
    assert reads.total == 8 + n


def test_tensors_are_read_after_the_metadata_is_checked(tmp_path, monkeypatch):
    # A checkpoint given to load: the kind is refused with no tensor read.
    path = chainrule.save_checkpoint(
        tmp_path / "c", {"W1": np.ones((300, 300))}, {}, np.random.default_rng(0), {}, {}
    )
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    reads = CountingReads(monkeypatch)
    with pytest.raises(ModelFileError, match="load_checkpoint"):
        chainrule.load(path)
    assert reads.total == 8 + n


# -- 3. UTF-8 only -------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_headers_in_other_encodings_are_refused(tmp_path, encoding):
    # The same header the reference writer produced, re-encoded; json.loads on the bytes
    # would have guessed the encoding and accepted all of these but the BOM ones.
    path = tmp_path / "good.safetensors"
    safetensors_numpy.save_file(network_arrays([2, 1]), str(path))
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8 : 8 + n].decode("utf-8").encode(encoding)
    bad = _file(tmp_path / "enc.safetensors", text, raw[8 + n :])
    with pytest.raises(ModelFileError, match=r"not a safetensors file|not UTF-8|not valid JSON"):
        chainrule.load(bad)
    with pytest.raises(SafetensorError):  # the reference reader refuses them too
        safetensors_numpy.load_file(str(bad))


def test_invalid_utf8_is_named(tmp_path):
    text = b'{"W\xff1":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}'
    with pytest.raises(ModelFileError, match="not UTF-8"):
        chainrule.load(_file(tmp_path / "bad.safetensors", text, b"\0" * 8))


def test_utf8_names_from_other_tools_still_load(tmp_path):
    # UTF-8 beyond ASCII is valid safetensors: such a header parses (and is then refused
    # only for not being a chainrule file).
    path = tmp_path / "u.safetensors"
    safetensors_numpy.save_file({"poids-é": np.ones(2)}, str(path))
    with pytest.raises(ModelFileError, match="not a chainrule file"):
        chainrule.load(path)
