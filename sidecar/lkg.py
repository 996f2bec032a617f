"""The last-known-good config on disk: the raw signed values of the last applied snapshot.

The file holds the values exactly as read from etcd (still signed), so loading it goes
through the same compile and verification as etcd data; a tampered file is refused.
It is replaced atomically: a crash leaves the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError

from mesh.v1 import signed_pb2

FILE_NAME = "lkg.bin"
FILE_MODE = 0o600


class LkgUnreadable(Exception):
    """The file exists but is not a StoredSnapshot; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StoredConfig:
    """The values of a last-known-good file and the etcd revision they were read at."""

    values: Mapping[str, bytes]
    revision: int


class LastKnownGood:
    """`<state_dir>/lkg.bin`. Blocking file I/O: call it through asyncio.to_thread."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME

    def save(self, values: Mapping[str, bytes], revision: int) -> None:
        """Replace the file: temp file in the same directory (mode 0600), fsync, rename,
        fsync the directory."""
        data = signed_pb2.StoredSnapshot(revision=revision, values=dict(values)).SerializeToString()
        directory = self.path.parent
        tmp = directory / f".{FILE_NAME}.{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def load(self) -> StoredConfig | None:
        """The stored values, None when there is no file; LkgUnreadable if it cannot be
        parsed. The values are NOT verified here: compile them like etcd data."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        stored = signed_pb2.StoredSnapshot()
        try:
            stored.ParseFromString(data)
        except DecodeError:
            raise LkgUnreadable(f"{self.path} is not a stored snapshot") from None
        return StoredConfig(values=dict(stored.values), revision=stored.revision)
