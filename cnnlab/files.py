"""Writing files so that nothing already on disk is lost.

:func:`atomic_write` is the one way the package writes a file (figures, JSON records,
checkpoints): into a temporary file beside the target, flushed to disk, then renamed
over it. A reader never sees half a file, and a crash or Ctrl-C mid-write leaves the
older file as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary binary file beside ``path``, then rename it
    to ``path`` (creating the folder); returns ``path``.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes" / "a.txt"
    >>> atomic_write(target, lambda f: f.write(b"hello")).read_text()
    'hello'
    >>> def fail(f):
    ...     f.write(b"half")
    ...     raise KeyboardInterrupt
    >>> try:
    ...     atomic_write(target, fail)
    ... except KeyboardInterrupt:
    ...     pass
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('hello', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode the file had, or the
        # mode a plain open() would give a new file under the user's umask.
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
