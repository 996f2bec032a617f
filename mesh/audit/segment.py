"""Segment files: naming, durable appends, and reading a segment's tail to continue it.

A log directory holds segments `audit-000001.jsonl`, `audit-000002.jsonl`, …; the writer
appends to the highest one and starts the next only when that one cannot be continued.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mesh.audit.encoding import decode_line, header_hash, record_hash
from mesh.audit.errors import BrokenSegment, MalformedEntry
from mesh.files import fsync_directory
from mesh.v1 import audit_pb2

_NAME = re.compile(r"audit-(\d{6,})\.jsonl")
_CHUNK = 64 * 1024
FILE_MODE = 0o640


class SegmentFile(Protocol):
    """An open segment: appends go to the end. Every method raises OSError on failure."""

    def write(self, data: bytes) -> None:
        """Append all of `data` (a partial write is an OSError after the bytes that made it)."""

    def sync(self) -> None:
        """Make everything written durable (fsync)."""

    def truncate(self, size: int) -> None:
        """Cut the file back to `size` bytes."""

    def close(self) -> None: ...


class OsSegmentFile:
    """A SegmentFile on a POSIX file descriptor opened O_APPEND."""

    def __init__(self, path: Path, create: bool) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW
        if create:
            flags |= os.O_CREAT | os.O_EXCL
        self._fd = os.open(path, flags, FILE_MODE)
        self._path = path
        if create:
            fsync_directory(path.parent)  # the new name itself must survive a crash

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # bounded: each pass writes at least one byte or raises
            written = os.write(self._fd, view)
            if written <= 0:
                raise OSError(f"write to {self._path} made no progress")
            view = view[written:]

    def sync(self) -> None:
        os.fsync(self._fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)

    def close(self) -> None:
        os.close(self._fd)


# How the log opens segments: (path, create) -> SegmentFile. Tests inject failing files.
Opener = Callable[[Path, bool], SegmentFile]


def segment_paths(directory: Path) -> list[Path]:
    """The segments in `directory`, oldest first."""
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"audit-{number:06d}.jsonl"


def segment_number(path: Path) -> int:
    match = _NAME.fullmatch(path.name)
    if match is None:
        raise ValueError(f"{path.name} is not a segment file name")
    return int(match.group(1))


@dataclass(frozen=True, slots=True)
class Tail:
    """Where a segment ends: its header, last record's seq and hash (0 and the header's hash
    when it has no record), and whether a checkpoint already covers that record."""

    header: audit_pb2.AuditHeader
    seq: int
    hash: str
    checkpointed: bool
    size: int


def read_header(path: Path) -> audit_pb2.AuditHeader:
    """The header on a segment's first line; BrokenSegment if there is none."""
    with open(path, "rb") as handle:
        first = handle.readline(1 << 20)
    if not first.endswith(b"\n"):
        raise BrokenSegment("first line is missing or torn")
    try:
        entry = decode_line(first)
    except MalformedEntry as err:
        raise BrokenSegment(f"line 1: {err.reason}") from None
    if entry.WhichOneof("entry") != "header":
        raise BrokenSegment("line 1 is not a header")
    return entry.header


def read_tail(path: Path) -> Tail:
    """The verified tail of a segment, or BrokenSegment saying why it cannot be continued.

    Checks the header, that the file ends with a complete line, that the last record's hash
    matches its contents, and that checkpoints after it cover exactly it. Earlier records are
    not re-verified (that is `meshctl audit verify`'s job), so a restart stays fast.
    """
    header = read_header(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(size - 1)
        if handle.read(1) != b"\n":
            raise BrokenSegment("last line is torn (no newline)")
    checkpoints: list[audit_pb2.AuditCheckpoint] = []
    for from_end, line in enumerate(_lines_backwards(path, size), start=1):
        try:
            entry = decode_line(line)
        except MalformedEntry as err:
            raise BrokenSegment(f"line {from_end} from the end: {err.reason}") from None
        kind = entry.WhichOneof("entry")
        if kind == "checkpoint":
            checkpoints.append(entry.checkpoint)
            continue
        if kind == "header":
            seq, head = 0, header_hash(header)
        else:
            record = entry.record
            if record_hash(record) != record.hash:
                raise BrokenSegment(f"last record (seq {record.seq}) does not match its hash")
            seq, head = record.seq, record.hash
        for checkpoint in checkpoints:
            if (checkpoint.log_id, checkpoint.seq, checkpoint.hash) != (header.log_id, seq, head):
                raise BrokenSegment(f"checkpoint at seq {checkpoint.seq} does not cover the last record")
        return Tail(header=header, seq=seq, hash=head, checkpointed=bool(checkpoints) or seq == 0,
                    size=size)
    raise BrokenSegment("segment holds no header")  # unreachable: read_header found one


def _lines_backwards(path: Path, size: int) -> Iterator[bytes]:
    """The lines of a file that ends with "\n", last to first, without their newline.
    Reads 64 KiB chunks from the end; bounded by the file size."""
    with open(path, "rb") as handle:
        position, rest = size - 1, b""
        while position > 0:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            pieces = (handle.read(step) + rest).split(b"\n")
            rest = pieces[0]  # may continue in the chunk before
            yield from reversed(pieces[1:])
        yield rest
