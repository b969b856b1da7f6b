"""Atomic file writes: a crash at any moment leaves either the old file or the new one.

:func:`atomic_write` writes to a temporary file in the target's folder, flushes and
fsyncs it, renames it over the target (an atomic step on POSIX and Windows), then
fsyncs the folder so that the rename itself survives a power cut. If anything fails
before the rename (a full disk, an exception in the writer), the temporary file is
removed and the old file is left as it was. A process killed outright (SIGKILL) may
leave a temporary ``.NAME.*.tmp`` file beside the target, never a torn target. A
symbolic link at the target is replaced by the new file, not followed.

Examples
--------
>>> import tempfile, pathlib
>>> from chainrule.io.atomic import atomic_write
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> path = atomic_write(folder / "notes.txt", b"hello")
>>> path.read_bytes()
b'hello'
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

Writer = Callable[[BinaryIO], object]


def atomic_write(path: str | os.PathLike[str], data: bytes | Writer) -> Path:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        The target file. Its folder must exist.
    data : bytes or callable
        The whole content, or a function that writes it to the binary file object it
        is given (for large content written in pieces).

    Returns
    -------
    Path
        The target path.

    Raises
    ------
    OSError
        If the content cannot be written (e.g. ``ENOSPC``, no space left on device);
        the message names the target and says that the previous file is unchanged.
    """
    path = Path(path)
    if not isinstance(data, bytes | bytearray | memoryview) and not callable(data):
        raise TypeError(f"data must be bytes or a writer function, got {type(data).__name__}")
    folder = path.parent
    mode = _mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
            raise OSError(
                exc.errno, f"cannot write {str(path)!r}: {reason}; the previous file is unchanged"
            ) from exc
        raise
    _fsync_folder(folder)
    return path


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        # Reading the umask means setting it; set it straight back.
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; folders cannot be opened for fsync on every platform."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:  # pragma: no cover - Windows
        return
    try:
        fd = os.open(folder, os.O_RDONLY | flags)
    except OSError:  # pragma: no cover - e.g. a folder we may write but not read
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)
