"""Atomic writes: the old file or the new one, never a torn one; clear errors on a full disk."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import chainrule
from chainrule.io.atomic import atomic_write


def test_writes_bytes_and_writer_functions(tmp_path):
    atomic_write(tmp_path / "a", b"first")
    atomic_write(tmp_path / "a", lambda f: (f.write(b"sec"), f.write(b"ond")))
    assert (tmp_path / "a").read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["a"]


def test_rejects_other_data(tmp_path):
    with pytest.raises(TypeError, match="data must be bytes"):
        atomic_write(tmp_path / "a", "text")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "a"
    path.write_bytes(b"old")
    path.chmod(0o600)
    atomic_write(path, b"new")
    assert (path.stat().st_mode & 0o777) == 0o600


def test_new_file_gets_the_umask_permissions(tmp_path):
    umask = os.umask(0o027)
    try:
        atomic_write(tmp_path / "a", b"new")
    finally:
        os.umask(umask)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640


def _model(seed: int) -> chainrule.Network:
    return chainrule.Network.from_sizes([4, 3, 2], "tanh", random_state=seed)


@pytest.mark.parametrize("stage", ["write", "fsync", "replace"])
def test_full_disk_leaves_the_old_model(tmp_path, monkeypatch, stage):
    path = tmp_path / "m.safetensors"
    old = _model(0)
    chainrule.save(old, path)
    before = path.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if stage == "write":
        # The first chunk gets through, then the disk is full, as it happens in practice.
        real_fdopen = os.fdopen

        def fdopen(*args, **kwargs):
            f = real_fdopen(*args, **kwargs)
            real_write = f.write
            calls = []

            def write(data):
                calls.append(len(data))
                if len(calls) > 1:
                    no_space()
                return real_write(data)

            f.write = write
            return f

        monkeypatch.setattr("chainrule.io.atomic.os.fdopen", fdopen)
        monkeypatch.setattr("chainrule.io.files.atomic_write", _two_chunk_writer)
    else:
        monkeypatch.setattr(f"chainrule.io.atomic.os.{stage}", no_space)
    with pytest.raises(OSError, match="no space left on device; the previous file is unchanged"):
        chainrule.save(_model(1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]  # the temporary file is gone
    loaded = chainrule.load(path)
    assert all(loaded.params[k].tobytes() == v.tobytes() for k, v in old.params.items())


def _two_chunk_writer(path, data):
    """Write in two pieces, so that the disk can fill up between them."""
    half = len(data) // 2
    return atomic_write(path, lambda f: (f.write(data[:half]), f.write(data[half:])))


def test_file_size_limit_in_a_real_process(tmp_path):
    """A real write failure (RLIMIT_FSIZE, EFBIG), not a monkeypatched one."""
    resource = pytest.importorskip("resource", reason="resource limits are POSIX-only")
    assert resource  # imported in the child below
    path = tmp_path / "m.safetensors"
    chainrule.save(_model(0), path)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        import chainrule
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before)}, {len(before)}))
        big = chainrule.Network.from_sizes([40, 30, 2], "tanh", random_state=1)
        try:
            chainrule.save(big, {str(path)!r})
        except OSError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert "the previous file is unchanged" in result.stdout
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]


WRITER = textwrap.dedent(
    """
    import sys
    from chainrule.io.atomic import atomic_write
    path, size = sys.argv[1], int(sys.argv[2])
    contents = [b"a" * size, b"b" * size]
    i = 0
    while True:
        atomic_write(path, contents[i % 2])
        if i == 1:
            print("ready", flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_a_whole_file(tmp_path):
    path = tmp_path / "target"
    size = 4_000_000  # big enough that a kill often lands mid-write
    seeds = random.Random(2024)
    kills = 0
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(size)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(seeds.uniform(0.0, 0.2))  # a random moment, not a measurement
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        kills += 1
        content = path.read_bytes()
        assert content in (b"a" * size, b"b" * size)
        for leftover in tmp_path.glob(".target.*.tmp"):
            leftover.unlink()  # a killed writer may leave its temporary file behind
    assert kills == 8


def test_atomic_write_used_for_models(tmp_path, monkeypatch):
    """save() goes through atomic_write (so all of the above applies to model files)."""
    seen = []
    real = chainrule.io.atomic_write

    def spy(path, data):
        seen.append(path)
        return real(path, data)

    monkeypatch.setattr("chainrule.io.files.atomic_write", spy)
    chainrule.save(_model(0), tmp_path / "m.safetensors")
    chainrule.save_checkpoint(
        tmp_path / "c", {"W1": np.ones((1, 1))}, {}, np.random.default_rng(), {}, {}
    )
    assert [p.name for p in seen] == ["m.safetensors", "c"]
