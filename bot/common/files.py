"""Files only their owner may read: databases holding personal data (tickets, tracking demo)."""

from __future__ import annotations

import os
from pathlib import Path


def owner_only_file(path: Path) -> None:
    """Create ``path`` (and its parent) readable by the owner only, before SQLite opens it.

    SQLite gives its journal and WAL files the database file's permissions, so they are
    owner-only too. An existing file keeps its content and is narrowed to mode 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
