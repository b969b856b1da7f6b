"""Atomic writes and special targets: devices, FIFOs, symbolic links, the umask, leftovers."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

import chainrule
from chainrule.io.atomic import atomic_write, remove_stale_temporaries

posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and devices are POSIX")


# -- 5. never replace what is not a regular file -------------------------------------------
@posix
def test_character_device_is_written_into_not_replaced():
    before = os.stat("/dev/null")
    atomic_write("/dev/null", b"discarded")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


@posix
def test_full_device_reports_no_space_and_stays_a_device():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with pytest.raises(OSError, match="no space left on device"):
        atomic_write("/dev/full", b"x" * 10_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@posix
def test_fifo_with_a_reader_receives_the_bytes(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    # The reader may not have opened yet: retry until it has (a FIFO without a reader
    # is refused, not waited on).
    for _ in range(1000):
        try:
            atomic_write(fifo, b"through the pipe")
            break
        except ValueError:
            threading.Event().wait(0.01)
    reader.join(timeout=30)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@posix
def test_fifo_without_a_reader_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO that nobody is reading"):
        atomic_write(fifo, b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        atomic_write(tmp_path, b"x")


@posix
def test_symlink_is_followed_and_kept(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real.txt"]


@posix
def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    atomic_write(link, b"new")
    assert link.is_symlink() and (tmp_path / "made.txt").read_bytes() == b"new"


@posix
def test_symlink_to_stdout_writes_to_stdout(tmp_path):
    script = "from chainrule.io.atomic import atomic_write; atomic_write('/dev/stdout', b'OUT')"
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        subprocess.run([sys.executable, "-c", script], stdout=f, check=True)
    # stdout was a regular file here: written through the link, as a shell would.
    assert out.read_bytes() == b"OUT"
    piped = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    assert piped.stdout == b"OUT"
    assert os.path.islink("/dev/stdout") or stat.S_ISCHR(os.stat("/dev/stdout").st_mode)


@posix
def test_cli_output_to_a_device_keeps_the_device(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--output", "/dev/null"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@posix
def test_save_to_a_device(tmp_path):
    chainrule.save(chainrule.seed_example().network, "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# -- 6. the umask is never touched ---------------------------------------------------------
def test_umask_is_never_read_or_set(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "umask", lambda *a: calls.append(a) or 0o022)
    atomic_write(tmp_path / "a", b"new")
    atomic_write(tmp_path / "a", b"newer")
    assert calls == []


@posix
def test_threads_creating_files_during_writes_keep_their_mode(tmp_path):
    # The race of the review: a thread creating a file while atomic_write read the
    # umask by setting it. With the umask untouched, every file gets the process umask.
    old = os.umask(0o077)
    try:
        stop = threading.Event()
        modes = set()

        def create() -> None:
            i = 0
            while not stop.is_set():
                path = tmp_path / f"other{i % 50}"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
                modes.add(stat.S_IMODE(os.fstat(fd).st_mode))
                os.close(fd)
                os.unlink(path)
                i += 1

        worker = threading.Thread(target=create)
        worker.start()
        try:
            for i in range(300):
                atomic_write(tmp_path / f"w{i % 5}", b"x")
        finally:
            stop.set()
            worker.join()
    finally:
        os.umask(old)
    assert modes == {0o600}
    assert {stat.S_IMODE((tmp_path / f"w{i}").stat().st_mode) for i in range(5)} == {0o600}


# -- 7. temporary files of killed writes are cleaned up ------------------------------------
KILLED_WRITER = textwrap.dedent(
    """
    import os, sys
    from chainrule.io.atomic import atomic_write

    def write(f):
        f.write(b"partial")
        f.flush()
        print("writing", flush=True)
        sys.stdin.read()  # wait here until killed

    atomic_write(sys.argv[1], write)
    """
)


def _killed_write(target) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stdin.close()


@posix
def test_temporary_files_of_killed_writes_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "model.safetensors"
    for _ in range(5):
        _killed_write(target)
        # Each write cleans up after the killed ones before it: one leftover at most.
        leftovers = [p.name for p in tmp_path.iterdir()]
        assert len(leftovers) == 1 and leftovers[0].startswith(".model.safetensors.")
    (tmp_path / ".model.safetensors.other.tmp").write_bytes(b"not ours")  # another pattern
    (tmp_path / ".model.safetensors.extra.abcdefgh.tmp").write_bytes(b"another target's")
    chainrule.save(chainrule.seed_example().network, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".model.safetensors.extra.abcdefgh.tmp",
        ".model.safetensors.other.tmp",
        "model.safetensors",
    ]


@posix
def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    target = tmp_path / "t"
    seen = []

    def write(f):
        f.write(b"half")
        f.flush()
        seen.append(remove_stale_temporaries(target))  # as a concurrent writer would
        seen.append([p.name for p in tmp_path.iterdir()])
        f.write(b" and half")

    atomic_write(target, write)
    assert seen[0] == [] and len(seen[1]) == 1
    assert target.read_bytes() == b"half and half"
    assert os.listdir(tmp_path) == ["t"]
