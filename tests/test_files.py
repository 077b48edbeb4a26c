"""Files the package writes: atomically, and readable like any other file (cnnlab/files.py)."""

import os

from cnnlab.files import atomic_write


def test_atomic_write_gives_files_the_mode_open_would_and_keeps_an_existing_mode(tmp_path):
    """mkstemp's temporary file is private (0600); the written file must not be."""
    old = os.umask(0o022)
    try:
        new = atomic_write(tmp_path / "new.json", lambda f: f.write(b"{}"))
        assert new.stat().st_mode & 0o777 == 0o644
        shared = tmp_path / "shared.json"
        shared.write_bytes(b"old")
        shared.chmod(0o664)
        atomic_write(shared, lambda f: f.write(b"new"))
        assert shared.stat().st_mode & 0o777 == 0o664 and shared.read_bytes() == b"new"
    finally:
        os.umask(old)
