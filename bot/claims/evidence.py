"""Photo evidence on disk: a content-addressed store of checked images.

:class:`EvidenceStore` keeps the re-encoded bytes of :func:`bot.claims.images.check_image`
on disk under their SHA-256. Blocking (disk); async callers should go through
``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bot.claims.images import FORMATS, CheckedImage
from bot.settings import Settings

DEFAULT_EVIDENCE_DIR = "var/evidence"
"""Where evidence goes without ``EVIDENCE_DIR``; relative values are resolved against the project root."""
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredEvidence:
    """Where :meth:`EvidenceStore.save` put an image.

    Attributes:
        sha256: Hex SHA-256 of the stored bytes; the evidence id.
        path: File path under the store root.
        size: Size in bytes.
        content_type: MIME type.
        width: Width in pixels.
        height: Height in pixels.
    """

    sha256: str
    path: Path
    size: int
    content_type: str
    width: int
    height: int


class EvidenceStore:
    """Content-addressed image store on local disk: ``root/ab/abcdef….jpg``.

    File names come only from the SHA-256 of the stored bytes, never from the
    client. Writes are atomic (temporary file in the target directory, then
    rename) and idempotent: saving the same image twice keeps one file.
    """

    def __init__(self, root: Path | str = DEFAULT_EVIDENCE_DIR) -> None:
        """Create a store rooted at ``root``; nothing is touched on disk until :meth:`save`."""
        self.root = Path(root)

    def _candidate(self, sha256: str, extension: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("evidence id must be 64 lowercase hex characters")
        return self.root / sha256[:2] / f"{sha256}{extension}"

    def save(self, checked: CheckedImage) -> StoredEvidence:
        """Store a checked image under its SHA-256.

        Args:
            checked: The result of :func:`check_image`.

        Returns:
            Where and what was stored.
        """
        sha256 = hashlib.sha256(checked.data).hexdigest()
        path = self._candidate(sha256, checked.extension)
        if not (path.is_file() and path.stat().st_size == len(checked.data)):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=checked.extension)
            try:
                with os.fdopen(fd, "wb") as tmp:
                    tmp.write(checked.data)
                    tmp.flush()
                    os.fsync(tmp.fileno())
                os.chmod(tmp_name, 0o640)
                os.replace(tmp_name, path)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
        return StoredEvidence(sha256, path, len(checked.data), checked.content_type, checked.width, checked.height)

    def path_for(self, sha256: str) -> Path | None:
        """Return the stored file for an evidence id, or ``None`` if absent.

        Raises:
            ValueError: ``sha256`` is not 64 lowercase hex characters.
        """
        for _content_type, extension in FORMATS.values():
            path = self._candidate(sha256, extension)
            if path.is_file():
                return path
        return None

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored image for reading (binary); the caller closes it.

        Raises:
            ValueError: ``sha256`` is not 64 lowercase hex characters.
            FileNotFoundError: No such evidence.
        """
        path = self.path_for(sha256)
        if path is None:
            raise FileNotFoundError(f"no evidence {sha256}")
        return path.open("rb")


def store_from_env(env: Mapping[str, str] | None = None) -> EvidenceStore:
    """Build the evidence store from ``EVIDENCE_DIR`` (default ``var/evidence``).

    A relative path is taken from the project root. Nothing is created here.

    Args:
        env: Environment variables (default: the process's), read by
            :meth:`bot.settings.Settings.from_env`.

    Returns:
        The store.
    """
    configured = Settings.from_env(env)
    return EvidenceStore(configured.project_path(configured.evidence_dir))
