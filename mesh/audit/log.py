"""AuditLog: the writer of one sidecar's audit log, off the request path.

`append` queues a record (sync, never blocks, never drops); `run` starts the writer thread,
which batches, chains, writes and fsyncs the records and signs checkpoints, and publishes the
checkpoints; `close` flushes everything that was accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
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


class AuditLog:
    """One sidecar's tamper-evident audit log in `directory` (see mesh/audit/README.md).

    `identity` returns the sidecar's current workload identity (certificate, chain and key);
    it signs checkpoints and names the writer. `append`, `available`, `open`, `run` and
    `close` belong to one event loop. `run` starts the writer thread, which does the rest
    (batching, chaining, writing, fsync, signing) without waking the event loop per batch.
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
        self._loop: asyncio.AbstractEventLoop | None = None
        # From the event loop to the writer thread. Only the loop changes `_accepted` and only
        # the writer changes `_written`, so their difference (the backlog) needs no lock.
        self._queue: deque[Record] = deque()
        self._accepted = 0
        self._written = 0
        # Wakes the writer when it waits for work: rung by the first append of a batch (`_rung`
        # is True until the writer takes the batch), by close() and by the end of run().
        self._doorbell: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._rung = False
        self._halt = threading.Event()  # set when run() ends: the writer stops after its step
        self._opening = threading.Lock()  # open() and the writer may both try to open the segment
        self._stopped = asyncio.Event()
        self._started = False
        self._closing = False
        self._backpressure = False  # the event loop's
        self._failing = False  # the writer's
        self._final_checkpoint_tried = False
        # The open segment, the writer's (open() may set it before run() starts). The chain
        # head (seq, hash) advances only after a durable write.
        self._file: SegmentFile | None = None
        self._path: Path | None = None
        self._log_id = ""
        self._seq = 0
        self._head = ""
        self._size = 0
        self._uncheckpointed = 0
        self._last_checkpoint = time.monotonic()

    @property
    def available(self) -> bool:
        """Whether the sidecar may admit new calls: the segment is open, the last write
        succeeded, the backlog is below its high-water mark and the log is not closing."""
        if self._backpressure and self.backlog <= self._high_water // 2:  # hysteresis, see append
            self._backpressure = False
            log.info("audit_backpressure_ended", backlog=self.backlog)
        return self._file is not None and not (self._failing or self._backpressure or self._closing)

    @property
    def backlog(self) -> int:
        """Records accepted but not yet durable."""
        return self._accepted - self._written

    @property
    def path(self) -> Path | None:
        """The segment being written (None until one is open)."""
        return self._path

    @property
    def log_id(self) -> str:
        return self._log_id

    def append(self, record: Record) -> None:
        """Accept `record` for writing. Never blocks and never drops an accepted record.

        Raises AuditUnavailable when the log is closing or holds `capacity` records. It does
        not raise merely because `available` is False: admission is decided by `available`
        when a call starts, and the records of calls admitted before then must still be taken.
        """
        if self._closing:
            raise AuditUnavailable("audit log is closed")
        held = self._accepted - self._written
        if held >= self._settings.capacity:
            raise AuditUnavailable("audit queue is full")
        self._queue.append(record)
        self._accepted += 1
        if held + 1 >= self._high_water and not self._backpressure:
            self._backpressure = True
            log.warning("audit_backpressure_started", backlog=held + 1)
        if not self._rung:
            self._rung = True
            self._doorbell.put(None)

    async def open(self) -> None:
        """Open (or continue) the segment now, so the log is available before the first call.
        The writer opens it too, retrying, if this fails."""
        await asyncio.to_thread(self._ensure_open)

    async def run(self) -> None:
        """Write until close(); owned by the sidecar's TaskGroup. Starts the writer thread and
        publishes its checkpoints. Cancelled, it stops the writer after the step in hand."""
        if self._started:
            raise RuntimeError("AuditLog.run() was already started")
        self._started = True
        self._loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = self._loop.create_future()
        writer = threading.Thread(target=self._writer, args=(self._loop, finished),
                                  name="audit-writer", daemon=True)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._publisher.run())
                writer.start()
                try:
                    await finished
                finally:
                    self._halt.set()
                    self._doorbell.put(None)
                    self._publisher.stop()
        finally:
            self._stopped.set()

    async def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, write every accepted record, sign a last checkpoint and publish
        it; wait for run() to finish. AuditUnavailable if records are still unwritten after
        `timeout` seconds (the disk stayed unwritable, or run() never ran)."""
        if not self._closing:
            self._closing = True
            log.info("audit_close_requested", backlog=self.backlog)
        self._doorbell.put(None)
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

    # Everything below runs in the writer thread, except _ensure_open (also open()'s).

    def _writer(self, loop: asyncio.AbstractEventLoop, finished: asyncio.Future[None]) -> None:
        """The writer thread: write until closed or halted, then hand run() the outcome (an
        unexpected exception ends run() with it, as a task's would)."""
        error: Exception | None = None
        try:
            if self._retrying(self._ensure_open):
                while (records := self._next_batch()) is not None:
                    self._commit(records)
        except Exception as err:
            error = err
        finally:
            self._close_file()
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, finished, error)

    def _next_batch(self) -> list[Record] | None:
        """The next records to write; [] when only a checkpoint is due; None when done."""
        while True:
            while not self._doorbell.empty():  # rings for records the check below sees anyway
                self._doorbell.get_nowait()
            if self._queue:  # looked at after `_rung` went False: no append goes unnoticed
                break
            if self._halt.is_set():
                return None
            if self._closing:
                if self._uncheckpointed and not self._final_checkpoint_tried:
                    self._final_checkpoint_tried = True
                    return []
                return None
            due_in = self._checkpoint_due_in()
            if due_in is not None and due_in <= 0:
                return []
            with contextlib.suppress(queue.Empty):
                self._doorbell.get(timeout=due_in)
        if self._halt.is_set():
            return None
        # Group commit: lingering lets the records of that window share one write, one fsync
        # and one wakeup of this thread (appends meanwhile do not ring). Appending never waits.
        linger = self._settings.batch_linger
        if linger > 0 and len(self._queue) < self._settings.batch_max and not self._closing:
            time.sleep(linger)
        self._rung = False  # from here on, an append rings for the next batch
        count = min(len(self._queue), self._settings.batch_max)
        return [self._queue.popleft() for _ in range(count)]

    def _commit(self, records: list[Record]) -> None:
        """Write `records` (and a checkpoint when one is due) durably, retrying until that
        works. Only then does the chain head move."""
        linked: Linked | None = None
        linked_from: tuple[str, int, str] | None = None
        checkpoint: audit_pb2.AuditCheckpoint | None = None
        pending = self._uncheckpointed + len(records)
        delay = self._settings.retry_initial
        while True:
            try:
                self._ensure_open()
                head = (self._log_id, self._seq, self._head)
                if linked is None or linked_from != head:  # first try, or a new segment began
                    pending = self._uncheckpointed + len(records)
                    linked, linked_from = link(records, self._seq, self._head), head
                    checkpoint = self._sign(linked) if self._checkpoint_due(pending) else None
                data = linked.data
                if checkpoint is not None:
                    data += encode_entry(audit_pb2.AuditEntry(checkpoint=checkpoint))
                if data:
                    self._append_durably(data)
                break
            except _RETRYABLE as err:
                self._report_failure(err)
                if self._halt.wait(delay):  # backoff while the disk is failing
                    return  # run() ended: the records stay unwritten, close() says so
                delay = min(delay * 2, self._settings.retry_max)
        assert linked is not None
        self._seq, self._head = linked.seq, linked.hash
        self._uncheckpointed = 0 if checkpoint is not None else pending
        self._written += len(records)
        if checkpoint is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to send it
                self._loop.call_soon_threadsafe(self._publisher.offer, checkpoint)
        self._report_recovery()

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

    def _checkpoint_due_in(self) -> float | None:
        """Seconds until the interval checkpoint is due; None when nothing awaits one."""
        if not self._uncheckpointed:
            return None
        return self._settings.checkpoint_interval - (time.monotonic() - self._last_checkpoint)

    def _retrying(self, step: Callable[[], None]) -> bool:
        """Run `step` until it works, with backoff. False when it never did: the log closed
        with nothing left to write, or run() ended."""
        delay = self._settings.retry_initial
        while not (self._closing and not self.backlog):
            try:
                step()
            except _RETRYABLE as err:
                self._report_failure(err)
                if self._halt.wait(delay):  # backoff while the disk is failing
                    return False
                delay = min(delay * 2, self._settings.retry_max)
                continue
            self._report_recovery()
            return True
        return False

    def _ensure_open(self) -> None:
        with self._opening:
            if self._file is None:
                self._open_segment()

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
                self._file = self._opener(newest, False)
                self._path, self._log_id, self._size = newest, tail.header.log_id, tail.size
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
        self._file, self._path, self._log_id, self._size = segment, path, header.log_id, len(line)
        self._seq, self._head, self._uncheckpointed = 0, header_hash(header), 0
        log.info("audit_segment_started", path=str(path), log_id=header.log_id,
                 previous=previous.file if previous else None,
                 reason=previous.reason if previous else None)

    def _append_durably(self, data: bytes) -> None:
        """Write and fsync `data`; on failure cut the file back to its last durable size so a
        retry never appends after a torn line (and drop the file if even that fails, so the
        next attempt reopens it and verifies its tail)."""
        segment = self._file
        assert segment is not None
        try:
            segment.write(data)
            segment.sync()
        except OSError:
            try:
                segment.truncate(self._size)
            except OSError:
                self._close_file()
            raise
        self._size += len(data)

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


def _settle(finished: asyncio.Future[None], error: Exception | None) -> None:
    """Hand the writer thread's outcome to run() (on the event loop)."""
    if finished.done():  # run() was cancelled meanwhile
        return
    if error is None:
        finished.set_result(None)
    else:
        finished.set_exception(error)


def _log_id_of(path: Path) -> str:
    try:
        return read_header(path).log_id
    except (BrokenSegment, OSError):
        return ""


def _describe(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror} (errno {err.errno})"
    return f"{type(err).__name__}: {err}"
