"""Atomic file writes: a crash at any moment leaves either the old file or the new one.

:func:`atomic_write` writes to a temporary file in the target's folder, flushes and
fsyncs it, renames it over the target (an atomic step on POSIX and Windows), then
fsyncs the folder so that the rename itself survives a power cut. If anything fails
before the rename (a full disk, an exception in the writer), the temporary file is
removed and the old file is left as it was.

What the target may be:

- a regular file, or nothing: replaced (or created) atomically. A new file gets the
  permissions ``0o666`` less the umask, as ``open`` gives; a replaced file keeps its
  permissions.
- a symbolic link: followed. The file it points to is replaced atomically (or created,
  for a dangling link) and the link itself stays; a link to a device or a FIFO (such as
  ``/dev/stdout``) is written through as below.
- a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a named pipe): written
  straight into, not atomically, and never replaced by a regular file. A FIFO that
  nobody reads is refused rather than waited on.
- anything else (a folder, a block device, a socket): refused with ``ValueError``.

A process killed outright (SIGKILL) may leave its temporary ``.NAME.XXXXXXXX.tmp`` file
beside the target, never a torn target. Each writer holds an advisory lock on its
temporary file while it writes, so the next write to the same target recognises the
temporary files of killed writers (nobody holds their lock) and removes them.

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
import re
import secrets
import stat
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, no clean-up
    fcntl = None  # type: ignore[assignment]

Writer = Callable[[BinaryIO], object]
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TOKEN = 8


def atomic_write(path: str | os.PathLike[str], data: bytes | Writer) -> Path:
    """Write ``data`` to ``path`` atomically (a device or a FIFO: straight into it).

    Parameters
    ----------
    path : str or path-like
        The target (see the module for symbolic links, devices and FIFOs). Its folder
        must exist.
    data : bytes or callable
        The whole content, or a function that writes it to the binary file object it
        is given (for large content written in pieces).

    Returns
    -------
    Path
        The target path, as given.

    Raises
    ------
    ValueError
        If ``path`` is a folder, a block device, a socket, or a FIFO nobody reads.
    OSError
        If the content cannot be written (e.g. ``ENOSPC``, no space left on device);
        the message names the target and says that the previous file is unchanged.
    """
    path = Path(path)
    if not isinstance(data, bytes | bytearray | memoryview) and not callable(data):
        raise TypeError(f"data must be bytes or a writer function, got {type(data).__name__}")
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from exc
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_through(path, info, data)
        return path
    # A symbolic link is followed: the file it names is replaced, and the link stays.
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    _write_replacing(path, target, info, data)
    return path


def _write_through(path: Path, info: os.stat_result, data: bytes | Writer) -> None:
    """Write into a character device or a FIFO as it is; refuse anything else."""
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"path {str(path)!r} is a folder; expected a file to write")
    if not (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        raise ValueError(
            f"path {str(path)!r} is neither a regular file, a character device nor a FIFO; "
            "refusing to write to it"
        )
    # O_NONBLOCK: opening a FIFO nobody reads fails with ENXIO instead of hanging.
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise ValueError(
                f"path {str(path)!r} is a FIFO that nobody is reading; refusing to wait"
            ) from None
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from exc
    if fcntl is not None:  # back to blocking writes, so that a slow reader is waited on
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
    except OSError as exc:
        reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {reason}") from exc


def _write_replacing(
    path: Path, target: Path, info: os.stat_result | None, data: bytes | Writer
) -> None:
    """The temporary file, written, synced and renamed over ``target``."""
    folder = target.parent
    try:
        remove_stale_temporaries(target)
        fd, tmp = _create_temporary(target)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            if info is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), stat.S_IMODE(info.st_mode))
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if fcntl is not None:  # renamed while locked, so that no clean-up can take it
                os.replace(tmp, target)
        if fcntl is None:  # pragma: no cover - Windows renames only closed files
            os.replace(tmp, target)
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


def _temporary_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(target.name)}\.[{_ALPHABET}]{{{_TOKEN}}}\.tmp")


def _create_temporary(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target``, created with mode 0o666 (the umask applies).

    ``O_CREAT | O_EXCL`` with the mode ``open`` uses leaves the permissions to the
    kernel and the umask; the process umask is never read or changed. The file is
    locked (when the platform has advisory locks) before it counts as created.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for _ in range(100):
        token = "".join(secrets.choice(_ALPHABET) for _ in range(_TOKEN))
        tmp = os.path.join(target.parent, f".{target.name}.{token}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        if fcntl is None:  # pragma: no cover - Windows
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A clean-up may have removed the file between its creation and the lock.
        with suppress(OSError):
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        os.close(fd)
    raise FileExistsError(errno.EEXIST, "no free temporary file name")


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files of earlier writes to ``target`` whose writers died.

    A writer holds an exclusive lock on its temporary file until it has renamed it;
    a temporary file whose lock can be taken belongs to a killed process. Returns the
    names removed (none on platforms without advisory locks).
    """
    if fcntl is None:  # pragma: no cover - Windows
        return []
    target = Path(target)
    pattern = _temporary_pattern(target)
    removed = []
    try:
        names = [name for name in os.listdir(target.parent) if pattern.fullmatch(name)]
    except OSError:
        return []
    for name in names:
        tmp = os.path.join(target.parent, name)
        try:
            fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live writer holds it
            with suppress(OSError):
                if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                    os.unlink(tmp)
                    removed.append(name)
        finally:
            os.close(fd)
    return removed


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
