"""AuditLog: the writer of one sidecar's audit log, off the request path.

`append` queues a record (sync, never blocks, never drops); `run` is the writer: it batches,
chains and writes the records on the event loop, fsyncs them on a worker thread at most
`sync_interval` later, signs checkpoints and publishes them once durable; `close` flushes
everything that was accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path

import structlog

from certs.ca import Issued
from mesh.audit.chain import Linked, link
from mesh.audit.checkpoint import CheckpointSink, sign_checkpoint, spiffe_id_of
from mesh.audit.encoding import encode_entry, header_hash
from mesh.audit.errors import AuditUnavailable, BrokenSegment
from mesh.audit.publisher import CheckpointPublisher
from mesh.audit.record import Record
from mesh.audit.segment import (
    Opener,
    OsSegmentFile,
    SegmentFile,
    read_header,
    read_tail,
    segment_number,
    segment_path,
    segment_paths,
)
from mesh.audit.settings import AuditSettings
from mesh.v1 import audit_pb2

log = structlog.get_logger(__name__)

# What a failed step of the writer raises and is retried on: I/O errors, and an identity
# that cannot be used yet (no certificate, no URI SAN).
_RETRYABLE = (OSError, ValueError)
# With no call to wake the writer, a timer does, this long (or one linger, if longer) after
# the batch or fsync was due.
_MIN_SLACK = 0.01


class AuditLog:
    """One sidecar's tamper-evident audit log in `directory` (see mesh/audit/README.md).

    `identity` returns the sidecar's current workload identity (certificate, chain and key);
    it signs checkpoints and names the writer. Everything here belongs to one event loop:
    `append` from the data path, `run()` as a task of the sidecar's TaskGroup, `close()` on
    shutdown. Per batch the writer costs a timer on that loop and one write(2); the fsync,
    which blocks, runs on a worker thread once per `sync_interval` at most.
    """

    def __init__(
        self,
        directory: Path,
        identity: Callable[[], Issued],
        sink: CheckpointSink,
        settings: AuditSettings | None = None,
        opener: Opener = OsSegmentFile,
    ) -> None:
        self._directory = Path(directory)
        self._identity = identity
        self._settings = settings or AuditSettings()
        self._opener = opener
        self._publisher = CheckpointPublisher(sink, self._settings.retry_initial, self._settings.retry_max)
        self._high_water = self._settings.capacity - self._settings.headroom
        self._queue: deque[Record | Callable[[], Record]] = deque()
        self._accepted = 0
        self._durable = 0  # records written and fsynced
        self._wake = asyncio.Event()  # set by append (see there) and close()
        self._batch_started: float | None = None  # when the writer saw the batch's first record
        self._soft_deadline = math.inf  # an append from then on wakes the writer
        self._opening = threading.Lock()  # open() and the writer may both try to open the segment
        self._stopped = asyncio.Event()
        self._started = False
        self._closing = False
        self._backpressure = False
        self._failing = False
        self._final_checkpoint_tried = False
        # The open segment. The chain head (seq, hash) advances once a batch is written;
        # `_synced_size` is how much of the file is known durable, and `_unsynced` holds the
        # bytes written since (so that a failed fsync can write them again) and their records.
        self._file: SegmentFile | None = None
        self._path: Path | None = None
        self._log_id = ""
        self._seq = 0
        self._head = ""
        self._size = 0
        self._synced_size = 0
        self._unsynced = bytearray()
        self._unsynced_records = 0
        self._unsynced_since = 0.0
        self._publish_after_sync: audit_pb2.AuditCheckpoint | None = None
        self._uncheckpointed = 0
        self._last_checkpoint = time.monotonic()

    @property
    def available(self) -> bool:
        """Whether the sidecar may admit new calls: the segment is open, the last write and
        fsync succeeded, the backlog is below its high-water mark and the log is not closing."""
        if self._backpressure and self.backlog <= self._high_water // 2:  # hysteresis, see append
            self._backpressure = False
            log.info("audit_backpressure_ended", backlog=self.backlog)
        return self._file is not None and not (self._failing or self._backpressure or self._closing)

    @property
    def backlog(self) -> int:
        """Records accepted but not yet durable (queued, or written and awaiting their fsync)."""
        return self._accepted - self._durable

    @property
    def path(self) -> Path | None:
        """The segment being written (None until one is open)."""
        return self._path

    @property
    def log_id(self) -> str:
        return self._log_id

    def append(self, record: Record | Callable[[], Record]) -> None:
        """Accept `record` for writing. Never blocks and never drops an accepted record.

        `record` may also be a function that builds it: the writer calls it when it takes the
        batch, so the caller's path (a call that has just been answered) pays only for a
        queue entry. The function must not depend on state that changes meanwhile.

        Raises AuditUnavailable when the log is closing or holds `capacity` records. It does
        not raise merely because `available` is False: admission is decided by `available`
        when a call starts, and the records of calls admitted before then must still be taken.
        """
        if self._closing:
            raise AuditUnavailable("audit log is closed")
        held = self._accepted - self._durable
        if held >= self._settings.capacity:
            raise AuditUnavailable("audit queue is full")
        self._queue.append(record)
        self._accepted += 1
        if held + 1 >= self._high_water and not self._backpressure:
            self._backpressure = True
            log.warning("audit_backpressure_started", backlog=held + 1)
        # Wake the writer for a new batch, a full one, or once a deadline has passed (see
        # _next_batch): never more than once per loop iteration.
        if not self._wake.is_set() and (len(self._queue) == 1 or len(self._queue) >= self._settings.batch_max
                                        or time.monotonic() >= self._soft_deadline):
            self._wake.set()

    async def open(self) -> None:
        """Open (or continue) the segment now, so the log is available before the first call.
        The writer opens it too, retrying, if this fails."""
        await asyncio.to_thread(self._ensure_open)

    async def run(self) -> None:
        """Write until close(); owned by the sidecar's TaskGroup. Also publishes the
        checkpoints. Cancelled, it stops at once; what was accepted and not yet written stays
        unwritten (close() is the way to flush)."""
        if self._started:
            raise RuntimeError("AuditLog.run() was already started")
        self._started = True
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._publisher.run())
                try:
                    await self._write()
                finally:
                    self._publisher.stop()
        finally:
            self._stopped.set()

    async def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, write and fsync every accepted record, sign a last checkpoint and
        publish it; wait for run() to finish. AuditUnavailable if records are still not
        durable after `timeout` seconds (the disk stayed unwritable, or run() never ran)."""
        if not self._closing:
            self._closing = True
            log.info("audit_close_requested", backlog=self.backlog)
        self._wake.set()
        if not self._started and not self.backlog:
            return  # nothing accepted, nothing to write (a run() started later just exits)
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout)
        except TimeoutError:
            log.error("audit_close_timed_out", unwritten=self.backlog, path=str(self._path))
            raise AuditUnavailable(f"{self.backlog} audit records could not be written") from None
        if self.backlog:  # run() ended early (cancelled) with records still queued
            log.error("audit_records_unwritten", unwritten=self.backlog)
            raise AuditUnavailable(f"{self.backlog} audit records were not written")

    # The writer: a coroutine on the same loop. It is the only one to touch the open segment
    # after open(), except for the fsync it hands to a worker thread and waits for.

    async def _write(self) -> None:
        try:
            if not await self._retrying(lambda: asyncio.to_thread(self._ensure_open)):
                return
            while (records := await self._next_batch()) is not None:
                await self._commit(records)
        finally:
            self._close_file()

    async def _next_batch(self) -> list[Record] | None:
        """The next records to write; [] when only an fsync or a checkpoint is due; None when
        done.

        Group commit without timer wakeups while calls flow: a batch is due `batch_linger`
        after its first record and an fsync `sync_interval` after its first unsynced record,
        but the writer is woken for them by the first append after that moment (the event loop
        is awake for that call anyway). Only when no call comes does a timer wake it, at most
        one more linger later."""
        while True:  # bounded: each pass returns, or waits for a wakeup or a deadline
            now = time.monotonic()
            if self._closing:
                if self._queue:
                    return self._take()
                if self._unsynced_records:
                    return []
                if self._uncheckpointed and not self._final_checkpoint_tried:
                    self._final_checkpoint_tried = True
                    return []
                return None
            batch_at = math.inf
            if self._queue:
                if self._batch_started is None:
                    self._batch_started = now
                batch_at = self._batch_started + self._settings.batch_linger
            sync_at = (self._unsynced_since + self._settings.sync_interval
                       if self._unsynced_records else math.inf)
            checkpoint_at = (self._last_checkpoint + self._settings.checkpoint_interval
                             if self._uncheckpointed else math.inf)
            if now >= min(batch_at, sync_at, checkpoint_at) or len(self._queue) >= self._settings.batch_max:
                return self._take()
            self._soft_deadline = min(batch_at, sync_at)
            fallback = min(self._soft_deadline + max(self._settings.batch_linger, _MIN_SLACK), checkpoint_at)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if fallback == math.inf else fallback - now):
                    await self._wake.wait()

    def _take(self) -> list[Record]:
        """Up to batch_max queued records, built where the queue holds builders."""
        self._soft_deadline = math.inf
        self._batch_started = None
        count = min(len(self._queue), self._settings.batch_max)
        records = []
        for _ in range(count):
            item = self._queue.popleft()
            if isinstance(item, Record):
                records.append(item)
                continue
            try:
                records.append(item())
            except Exception:  # a bug in a builder: say so loudly, and keep the count right
                self._durable += 1
                log.exception("audit_record_unbuildable")
        return records

    def _sync_due(self) -> bool:
        return bool(self._unsynced_records) and (
            time.monotonic() - self._unsynced_since >= self._settings.sync_interval
            or self._unsynced_records >= self._settings.batch_max)

    async def _commit(self, records: list[Record]) -> None:
        """Write `records` (and a checkpoint when one is due), retrying until that works;
        the chain head moves only then. Then fsync when that is due: always with a
        checkpoint, which is published only once durable."""
        linked: Linked | None = None
        linked_from: tuple[str, int, str] | None = None
        checkpoint: audit_pb2.AuditCheckpoint | None = None
        pending = self._uncheckpointed + len(records)
        delay = self._settings.retry_initial
        while True:  # bounded by close(): its timeout cancels run()
            try:
                if self._file is None:
                    await asyncio.to_thread(self._ensure_open)
                head = (self._log_id, self._seq, self._head)
                if linked is None or linked_from != head:  # first try, or a new segment began
                    pending = self._uncheckpointed + len(records)
                    linked, linked_from = link(records, self._seq, self._head), head
                    checkpoint = self._sign(linked) if self._checkpoint_due(pending) else None
                data = linked.data
                if checkpoint is not None:
                    data += encode_entry(audit_pb2.AuditEntry(checkpoint=checkpoint))
                if data:
                    self._append(data)
                break
            except _RETRYABLE as err:
                self._report_failure(err)
                await asyncio.sleep(delay)  # backoff while the disk is failing
                delay = min(delay * 2, self._settings.retry_max)
        assert linked is not None
        self._seq, self._head = linked.seq, linked.hash
        self._uncheckpointed = 0 if checkpoint is not None else pending
        if records and not self._unsynced_records:
            self._unsynced_since = time.monotonic()
        self._unsynced_records += len(records)
        if checkpoint is not None:
            self._publish_after_sync = checkpoint
        self._report_recovery()
        if checkpoint is not None or self._closing or self._settings.sync_interval == 0 or self._sync_due():
            await self._sync()

    def _append(self, data: bytes) -> None:
        """Write `data` after what is already written; on failure cut the file back so no
        torn line stays behind (and drop the file if even that fails: the next attempt
        reopens it and restores what was written)."""
        segment = self._file
        assert segment is not None
        try:
            segment.write(data)
        except OSError:
            try:
                segment.truncate(self._size)
            except OSError:
                self._close_file()
            raise
        self._size += len(data)
        self._unsynced += data

    async def _sync(self) -> None:
        """fsync what was written, on a worker thread, retrying until it works. A failed
        fsync may have dropped the written pages, so each retry first writes them again."""
        delay = self._settings.retry_initial
        retry = False
        while self._unsynced or self._publish_after_sync is not None:  # bounded by close()'s timeout
            try:
                await asyncio.to_thread(self._sync_file, retry)
                break
            except _RETRYABLE as err:
                self._report_failure(err)
                retry = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._settings.retry_max)
        self._synced_size = self._size
        self._unsynced.clear()
        self._durable += self._unsynced_records
        self._unsynced_records = 0
        self._report_recovery()
        checkpoint, self._publish_after_sync = self._publish_after_sync, None
        if checkpoint is not None:
            self._publisher.offer(checkpoint)

    def _sync_file(self, rewrite: bool) -> None:
        """(Worker thread.) fsync the segment; with `rewrite` (after a failed fsync), on a
        fresh descriptor holding the bytes written since the last durable size again."""
        with self._opening:
            if rewrite:
                self._close_file()
            self._open_locked()
            assert self._file is not None
            self._file.sync()

    def _sign(self, linked: Linked) -> audit_pb2.AuditCheckpoint | None:
        """A checkpoint over the head `linked` leads to, or None when it cannot be signed
        now (the records go on without it; the next try is an interval later)."""
        self._last_checkpoint = time.monotonic()
        try:
            return sign_checkpoint(self._identity(), self._log_id, linked.seq, linked.hash)
        except Exception as err:  # an unusable key must never stop the records
            log.error("audit_checkpoint_unsigned", log_id=self._log_id, seq=linked.seq,
                      error=type(err).__name__)
            return None

    def _checkpoint_due(self, pending: int) -> bool:
        if pending == 0:
            return False
        if pending >= self._settings.checkpoint_every or (self._closing and not self._queue):
            return True
        return time.monotonic() - self._last_checkpoint >= self._settings.checkpoint_interval

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> bool:
        """Run `step` until it works, with backoff. False when it never did and the log
        closed with nothing left to write."""
        delay = self._settings.retry_initial
        while not (self._closing and not self.backlog):  # bounded by close()'s timeout
            try:
                await step()
            except _RETRYABLE as err:
                self._report_failure(err)
                await asyncio.sleep(delay)  # backoff while the disk is failing
                delay = min(delay * 2, self._settings.retry_max)
                continue
            self._report_recovery()
            return True
        return False

    def _ensure_open(self) -> None:
        """(Worker thread.) Open the newest segment, or reopen ours after a failure dropped
        it."""
        with self._opening:
            self._open_locked()

    def _open_locked(self) -> None:
        if self._file is not None:
            return
        if self._path is None:
            self._open_segment()
            return
        # Ours, dropped after a failure: cut back to what is durable and put back what was
        # written since, as it was.
        segment = self._opener(self._path, False)
        try:
            segment.truncate(self._synced_size)
            segment.write(bytes(self._unsynced))
        except OSError:
            with contextlib.suppress(OSError):
                segment.close()
            raise
        self._file = segment

    def _open_segment(self) -> None:
        """Continue the newest segment if its tail verifies and it is ours; else start the
        next one, recording why."""
        writer = spiffe_id_of(self._identity().cert)
        self._directory.mkdir(parents=True, exist_ok=True)
        paths = segment_paths(self._directory)
        previous: audit_pb2.AuditSegmentBreak | None = None
        if paths:
            newest = paths[-1]
            try:
                tail = read_tail(newest)
                if tail.header.writer != writer:
                    raise BrokenSegment(f"it was written by {tail.header.writer}, not {writer}")
            except BrokenSegment as err:
                previous = audit_pb2.AuditSegmentBreak(
                    file=newest.name, log_id=_log_id_of(newest), reason=err.reason
                )
                log.warning("audit_segment_not_continued", path=str(newest), reason=err.reason)
            else:
                segment = self._opener(newest, False)
                try:
                    segment.sync()  # a killed writer may have left its last lines unsynced
                except OSError:
                    segment.close()
                    raise
                self._file, self._path, self._log_id = segment, newest, tail.header.log_id
                self._size = self._synced_size = tail.size
                self._seq, self._head = tail.seq, tail.hash
                self._uncheckpointed = 0 if tail.checkpointed else 1  # 1: at least one is uncovered
                log.info("audit_segment_continued", path=str(newest), log_id=self._log_id, seq=tail.seq)
                return
        path = segment_path(self._directory, segment_number(paths[-1]) + 1 if paths else 1)
        header = audit_pb2.AuditHeader(log_id=str(uuid.uuid4()), writer=writer, previous=previous)
        header.created_at.FromDatetime(datetime.now(timezone.utc))
        line = encode_entry(audit_pb2.AuditEntry(header=header))
        segment = self._opener(path, True)
        try:
            segment.write(line)
            segment.sync()
        except OSError:
            segment.close()
            # Leaving a half-written segment would make every retry start yet another one.
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        self._file, self._path, self._log_id = segment, path, header.log_id
        self._size = self._synced_size = len(line)
        self._seq, self._head, self._uncheckpointed = 0, header_hash(header), 0
        log.info("audit_segment_started", path=str(path), log_id=header.log_id,
                 previous=previous.file if previous else None,
                 reason=previous.reason if previous else None)

    def _report_failure(self, err: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.error("audit_write_failed", path=str(self._path), error=_describe(err),
                      backlog=self.backlog)

    def _report_recovery(self) -> None:
        if self._failing:
            self._failing = False
            log.info("audit_write_resumed", path=str(self._path), backlog=self.backlog)

    def _close_file(self) -> None:
        segment, self._file = self._file, None
        if segment is not None:
            try:
                segment.close()
            except OSError as err:
                log.warning("audit_segment_close_failed", path=str(self._path), error=_describe(err))


def _log_id_of(path: Path) -> str:
    try:
        return read_header(path).log_id
    except (BrokenSegment, OSError):
        return ""


def _describe(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror} (errno {err.errno})"
    return f"{type(err).__name__}: {err}"
