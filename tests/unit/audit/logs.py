"""Test helpers for audit logs: sample records, fast settings, a log written through the
real writer, line-level tampering, and segment files that fail or stall on demand."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import threading
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from certs.ca import Issued
from mesh.audit import AuditLog, AuditSettings, MemoryCheckpointSink, Record, message_digest
from mesh.audit.encoding import decode_line, encode_entry
from mesh.audit.segment import Opener, OsSegmentFile, SegmentFile
from mesh.v1 import audit_pb2
from tests.support.wait import async_wait_until

WRITER = "spiffe://tsunagi.test/org/131008/sys/kaigo"
PEER = "spiffe://tsunagi.test/org/131008/sys/juki"
_EPOCH = datetime(2025, 4, 1, 9, 0, tzinfo=timezone.utc)


def settings(**overrides: object) -> AuditSettings:
    """Settings with retries in milliseconds and no interval checkpoint unless asked."""
    values: dict[str, object] = {"retry_initial": 0.002, "retry_max": 0.01, "checkpoint_interval": 3600.0,
                               "sync_interval": 0.005}
    values.update(overrides)
    return AuditSettings(**values)  # type: ignore[arg-type]


def record(index: int, *, exchange_id: str | None = None, side: str = "outbound") -> Record:
    """A plausible exchange record; `index` makes it distinct."""
    outbound = side == "outbound"
    return Record(
        exchange_id=exchange_id or f"ex-{index:04d}",
        time=_EPOCH + timedelta(seconds=index),
        side="outbound" if outbound else "inbound",
        caller=WRITER if outbound else PEER,
        callee=PEER if outbound else WRITER,
        method="/jp.city.Resident/GetResident",
        purpose="eldercare-mobility",
        decision="allow" if index % 5 else "deny",
        rule="AccessPolicy/131008/resident#rules[0]" if index % 5 else "",
        status="OK" if index % 5 else "PERMISSION_DENIED",
        mappings=("kaigo-resident@3",),
        request=message_digest(f"request {index}".encode()),
        config_version=7,
        config_revision=120 + index,
        duration=timedelta(milliseconds=3),
    )


async def write_log(
    directory: Path,
    identity: Issued,
    sink: MemoryCheckpointSink,
    groups: Sequence[int],
    checkpoint_every: int,
    start: int = 0,
) -> Path:
    """Run a real AuditLog: append each group of records at once, wait until it is durable,
    then close. Returns the segment written."""
    log = AuditLog(directory, lambda: identity, sink, settings(checkpoint_every=checkpoint_every))
    index = start
    async with running(log):
        for size in groups:
            for _ in range(size):
                log.append(record(index))
                index += 1
            await async_wait_until(lambda: log.backlog == 0, what="the group to be written")
    assert log.path is not None
    return log.path


@contextlib.asynccontextmanager
async def running(log: AuditLog) -> AsyncIterator[AuditLog]:
    """run() in a task for the block; close() on the way out (the task is cancelled if
    close fails, so no task outlives the test)."""
    task = asyncio.create_task(log.run())
    try:
        yield log
        await log.close(timeout=10.0)
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def read_entries(path: Path) -> list[audit_pb2.AuditEntry]:
    return [decode_line(line) for line in path.read_bytes().splitlines(keepends=True)]


def records_of(path: Path) -> list[audit_pb2.AuditRecord]:
    return [e.record for e in read_entries(path) if e.WhichOneof("entry") == "record"]


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: Sequence[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def replace_entry(path: Path, number: int, entry: audit_pb2.AuditEntry) -> None:
    """Put `entry` on line `number` (from 1), canonically encoded."""
    lines = lines_of(path)
    lines[number - 1] = encode_entry(entry)
    write_lines(path, lines)


def edit_json(line: bytes, **fields: object) -> bytes:
    """The record line with some of its JSON fields replaced (hash left as it was)."""
    value = json.loads(line)
    value["record"].update(fields)
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode() + b"\n"


class Switch:
    """Thread-safe on/off for failure injection (writes run in worker threads)."""

    def __init__(self) -> None:
        self._on = threading.Event()

    def on(self) -> None:
        self._on.set()

    def off(self) -> None:
        self._on.clear()

    def __bool__(self) -> bool:
        return self._on.is_set()


class FailingFile:
    """A real segment file whose writes fail with ENOSPC while `failing` is on. With `torn`,
    a failing write first lets half of its bytes through, as a full disk does. With
    `sync_fails`, fsync fails with EIO instead (writes work), and the bytes written since the
    last good fsync are lost, as the kernel may drop such pages; with `truncate_fails`, cutting
    the file back fails too."""

    def __init__(self, inner: SegmentFile, failing: Switch, torn: bool = False,
                 sync_fails: bool = False, truncate_fails: bool = False, size: int | None = None) -> None:
        self._inner = inner
        self._failing = failing
        self._torn = torn
        self._sync_fails = sync_fails
        self._truncate_fails = truncate_fails
        self._size = size  # the file's size, when the opener told it
        self._durable = size

    def write(self, data: bytes) -> None:
        if self._failing and not self._sync_fails:
            if self._torn:
                self._inner.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        self._inner.write(data)
        if self._size is not None:
            self._size += len(data)

    def sync(self) -> None:
        if self._failing and self._sync_fails:
            if self._durable is not None:
                self._inner.truncate(self._durable)  # the unsynced pages are gone
                self._size = self._durable
            raise OSError(errno.EIO, "Input/output error")
        self._inner.sync()
        self._durable = self._size

    def truncate(self, size: int) -> None:
        if self._failing and self._truncate_fails:
            raise OSError(errno.EIO, "Input/output error")
        self._inner.truncate(size)
        self._size = size

    def close(self) -> None:
        self._inner.close()


def failing_opener(failing: Switch, torn: bool = False, sync_fails: bool = False,
                   truncate_fails: bool = False) -> Opener:
    """An Opener whose files fail while `failing` is on (opening too, when it is on and
    writes are what fails)."""

    def opener(path: Path, create: bool) -> SegmentFile:
        if failing and create and not sync_fails:
            raise OSError(errno.ENOSPC, "No space left on device")
        inner = OsSegmentFile(path, create)
        return FailingFile(inner, failing, torn, sync_fails, truncate_fails, size=path.stat().st_size)

    return opener


class GatedFile:
    """A real segment file whose writes wait until `gate` opens: a stalled disk."""

    def __init__(self, inner: SegmentFile, gate: threading.Event) -> None:
        self._inner = inner
        self._gate = gate

    def write(self, data: bytes) -> None:
        if not self._gate.wait(timeout=10.0):
            raise OSError(errno.EIO, "test gate never opened")
        self._inner.write(data)

    def sync(self) -> None:
        self._inner.sync()

    def truncate(self, size: int) -> None:
        self._inner.truncate(size)

    def close(self) -> None:
        self._inner.close()
