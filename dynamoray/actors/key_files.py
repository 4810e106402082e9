"""Sealed snapshot and backup files on disk, re-wrapped after a key rotation.

Separate from :mod:`keys` (which re-exports :func:`reencrypt_files`) because it is a walk over
directories, not key bookkeeping: only the data key wrapped in each file's header changes, under
its master key's newest version, so the frames are never re-encrypted.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..events.encryption import FileCipher


def reencrypt_files(roots: list[Path], cipher: FileCipher) -> int:
    """Re-wrap the data key of every sealed snapshot and backup file under ``roots`` by its master
    key's newest version (the frames are untouched); returns how many files changed."""
    changed = 0
    for root in roots:
        for path in sorted(Path(root).rglob("*.snap")) if Path(root).is_dir() else ():
            try:
                new = cipher.rewrap(path.read_bytes())
            except FileNotFoundError:  # pruned meanwhile
                continue
            if new is None:
                continue
            tmp = path.with_name(f"{path.name}.{os.getpid()}.rewrap.tmp")
            with open(tmp, "wb") as out:
                out.write(new)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
            changed += 1
    return changed
