"""The last-known-good config on disk: the raw signed values of the last applied snapshot.

The files hold the values exactly as read from etcd (still signed), so loading them goes
through the same compile and verification as etcd data; a tampered file is refused.

Two files in the state directory:
- `lkg.bin`: a whole StoredSnapshot, replaced atomically (temp file, fsync, rename, fsync the
  directory): a crash leaves the old file or the new one, never a mix.
- `lkg.journal`: the changes applied since, one StoredDelta record each, appended and fsynced.
  A record is framed by its length and its SHA-256, so a record torn by a crash is detected
  and it and everything after it are ignored: the loaded config is the one before that
  change, whole. When the journal outgrows the snapshot, the snapshot is rewritten and the
  journal emptied. A change to one key of a large config thus writes a few hundred bytes,
  not the whole config. A writer may append records at once and fsync them a moment later
  (`append`, then `sync`): a process crash keeps them, a power cut may lose the newest,
  leaving the config from before them, whole. `sync` may run on a thread of its own while
  the writer appends.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import queue
import random
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError

from mesh.files import fsync_directory, write_atomic
from mesh.v1 import signed_pb2

FILE_NAME = "lkg.bin"
JOURNAL_NAME = "lkg.journal"
FILE_MODE = 0o600
# The journal is folded into the snapshot once it is larger than the snapshot and this.
JOURNAL_MIN_BYTES = 64 * 1024
_FRAME = struct.Struct(">I32s")  # body length, SHA-256 of the body
_MAX_RECORD = 64 * 1024 * 1024


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
    """`<state_dir>/lkg.bin` and `<state_dir>/lkg.journal`. Blocking file I/O: call it
    through asyncio.to_thread, from one writer at a time (`sync` excepted: any thread, any
    time)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self.journal = Path(state_dir) / JOURNAL_NAME
        # What this process last wrote: (revision, snapshot bytes, journal bytes); None
        # until it has written or loaded, when record() writes a whole snapshot first.
        self._written: tuple[int, int, int] | None = None
        self._new_journal = False
        self._journal_fd: int | None = None
        # Guards the journal descriptor between the writer and `sync`; never held during I/O.
        self._fd_lock = threading.Lock()

    def save(self, values: Mapping[str, bytes], revision: int) -> None:
        """Replace the snapshot with `values` and empty the journal."""
        self.close()  # the journal is about to be replaced
        data = signed_pb2.StoredSnapshot(revision=revision, values=dict(values)).SerializeToString()
        write_atomic(self.path, data, FILE_MODE)
        # The new snapshot is durable; records still in the journal are at or below its
        # revision, so a crash before this point only leaves records that load skips.
        if self.journal.exists():
            write_atomic(self.journal, b"", FILE_MODE)
        self._written = (revision, len(data), 0)

    def record(self, values: Mapping[str, bytes], revision: int, from_revision: int,
               puts: Mapping[str, bytes], deletes: Iterable[str]) -> None:
        """Persist the change from `from_revision` to `revision` durably (`values` is the
        whole config after it): one journal record, or a new snapshot when one cannot be
        appended (see `append`)."""
        if self.append(revision, from_revision, puts, deletes):
            self.sync()
        else:
            self.save(values, revision)

    def append(self, revision: int, from_revision: int, puts: Mapping[str, bytes],
               deletes: Iterable[str]) -> bool:
        """Append the change from `from_revision` to `revision` as one journal record, not
        yet fsynced (a process crash keeps it; `sync` makes it survive a power cut). False,
        with nothing written, when a whole snapshot is due instead: this writer did not
        write `from_revision` itself, the journal is not the one it left (a torn record
        from before a crash), or it has outgrown the snapshot."""
        written = self._written
        if written is None or written[0] != from_revision:
            return False
        body = signed_pb2.StoredDelta(from_revision=from_revision, revision=revision,
                                      puts=dict(puts), deletes=list(deletes)).SerializeToString()
        journal_bytes = written[2] + _FRAME.size + len(body)
        if journal_bytes > max(JOURNAL_MIN_BYTES, written[1]):
            return False
        fd = self._journal_fd
        if fd is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(self.journal, flags, FILE_MODE)
            if os.fstat(fd).st_size != written[2]:
                os.close(fd)
                return False
            with self._fd_lock:
                self._journal_fd = fd
                self._new_journal = written[2] == 0  # its directory entry: made durable by sync()
        record = _FRAME.pack(len(body), hashlib.sha256(body).digest()) + body
        try:
            if os.write(fd, record) != len(record):
                raise OSError(errno.ENOSPC, "short write to the journal")
        except OSError:
            self.close()  # the next append checks the file's size again
            raise
        self._written = (revision, written[1], journal_bytes)
        return True

    def close(self) -> None:
        """Close the journal (kept open between appends)."""
        with self._fd_lock:
            fd, self._journal_fd = self._journal_fd, None
        if fd is not None:
            os.close(fd)

    def sync(self) -> None:
        """Make every record appended before the call durable. Safe on any thread while the
        writer appends: it syncs its own duplicate of the journal descriptor, so the writer
        neither waits for the disk nor can close the descriptor under it."""
        with self._fd_lock:
            if self._journal_fd is None:
                return  # nothing appended since the last snapshot (which is durable)
            fd = os.dup(self._journal_fd)
            new_journal, self._new_journal = self._new_journal, False
        try:
            os.fsync(fd)
            if new_journal:
                fsync_directory(self.journal.parent)
        except OSError:
            if new_journal:
                with self._fd_lock:
                    self._new_journal = True  # the next sync makes the entry durable
            raise
        finally:
            os.close(fd)

    def load(self) -> StoredConfig | None:
        """The stored values, None when there is no snapshot; LkgUnreadable if it cannot be
        parsed. Journal records are replayed while they are whole and follow on. The values
        are NOT verified here: compile them like etcd data."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        stored = signed_pb2.StoredSnapshot()
        try:
            stored.ParseFromString(data)
        except DecodeError:
            raise LkgUnreadable(f"{self.path} is not a stored snapshot") from None
        values, revision = dict(stored.values), stored.revision
        journal_bytes = 0
        for delta, end in _records(self.journal):
            if delta.revision <= revision:
                continue  # written before the snapshot that replaced it
            if delta.from_revision != revision:
                break  # not a continuation of what is loaded: stop at the last whole state
            values.update(delta.puts)
            for key in delta.deletes:
                values.pop(key, None)
            revision, journal_bytes = delta.revision, end
        self._written = (revision, len(data), journal_bytes)
        return StoredConfig(values=values, revision=revision)


class JournalSyncer:
    """Fsyncs a LastKnownGood's journal on a thread of its own, at most once per `interval`,
    so records appended in quick succession share one fsync: a record is fsynced once the
    interval since the previous fsync has passed, plus a random delay of up to `spread`
    (so at most interval + spread after it was appended). The spread keeps the fsyncs of
    many sidecars that applied the same change at the same moment from all falling in the
    same later moment.

    Telling it about a record costs the writer a counter increment, and a queue put only
    when no fsync is pending (the thread is asleep): a record appended while one is pending
    is covered by it or, if it came too late for it, by the one the thread then schedules
    itself. So a change neither wakes the thread nor schedules anything on the event loop.
    A failed fsync is handed to `on_error` (on the syncing thread); its records are not
    retried (the next record's fsync covers them)."""

    def __init__(self, lkg: LastKnownGood, interval: float,
                 on_error: Callable[[OSError], None], spread: float = 0.0,
                 rand: Callable[[], float] = random.random) -> None:
        self._lkg = lkg
        self._interval = interval
        self._spread = spread
        self._rand = rand
        self._on_error = on_error
        # The syncing thread and its queue: None until a record is appended, and again once
        # stopped. Only the writer changes it.
        self._worker: tuple[threading.Thread, queue.SimpleQueue[bool]] | None = None
        self._appended = 0  # records the writer appended (numbered from 1)
        self._done = 0  # the last of them an fsync was made (or tried) for
        # An fsync is pending on the thread, which will look at `_appended` again after it:
        # set by whoever schedules one, cleared by the thread before it looks. (Both sides
        # write it before reading the other's counter, so no record is left without one.)
        self._armed = False
        self.wakeups = 0  # times the writer woke the thread

    @property
    def idle(self) -> bool:
        """No appended record waits for its fsync."""
        return self._done == self._appended

    def start(self) -> None:
        """Start the syncing thread now, if it is not running, rather than on the first
        record: starting a thread blocks its caller until the thread runs, which on a busy
        machine can take milliseconds, and the first change should not wait for that."""
        self._running()

    def appended(self) -> None:
        """A record was appended to the journal: call after the write, from the writer."""
        self._appended += 1
        worker = self._worker
        if worker is None or not worker[0].is_alive():  # not started, or it died (a failing on_error)
            worker = self._running()
        elif self._armed:
            return
        self._armed = True
        self.wakeups += 1
        worker[1].put(True)

    def _running(self) -> tuple[threading.Thread, queue.SimpleQueue[bool]]:
        worker = self._worker
        if worker is None or not worker[0].is_alive():
            requests: queue.SimpleQueue[bool] = queue.SimpleQueue()
            thread = threading.Thread(target=self._run, args=(requests,), name="lkg-sync",
                                      daemon=True)
            worker = self._worker = (thread, requests)
            thread.start()
        return worker

    def stop(self) -> threading.Thread | None:
        """Have the thread fsync what is pending and end; returns it, to join (blocking: through
        asyncio.to_thread), or None when there is none. Call from the writer. A record
        appended later starts a new thread."""
        worker, self._worker = self._worker, None
        if worker is None:
            return None
        worker[1].put(False)
        return worker[0]

    def _run(self, requests: queue.SimpleQueue[bool]) -> None:
        synced_at = -math.inf
        due = math.inf  # when the pending records are fsynced (inf: none pending)
        stopping = False
        while True:  # bounded: once stopping, at most one more fsync, then it returns
            wait = due - time.monotonic()
            if stopping or wait <= 0:
                request: bool | None = None  # due now
            else:
                try:
                    request = requests.get(timeout=None if due == math.inf else wait)
                except queue.Empty:
                    request = None
            if request is False:
                stopping = True
                continue
            if request:
                if due == math.inf:
                    due = (max(synced_at + self._interval, time.monotonic())
                           + self._rand() * self._spread)
                continue
            if self._done == self._appended:
                if stopping:
                    return
                due = math.inf
                continue
            # Whatever the writer counted by now was written before: one fsync covers it.
            covered = self._appended
            synced_at = time.monotonic()
            try:
                self._lkg.sync()
            except OSError as exc:
                self._on_error(exc)
            self._done = covered
            self._armed = False
            if stopping:
                return  # the writer stopped it after its last record: covered
            if self._appended != covered:  # appended meanwhile, not woken for: schedule it
                self._armed = True
                due = synced_at + self._interval + self._rand() * self._spread
            else:
                due = math.inf


def _records(path: Path) -> Iterable[tuple[signed_pb2.StoredDelta, int]]:
    """The whole records at the start of a journal, each with the offset where it ends."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    offset = 0
    while offset + _FRAME.size <= len(data):  # bounded: each step advances the offset
        length, digest = _FRAME.unpack_from(data, offset)
        start, end = offset + _FRAME.size, offset + _FRAME.size + length
        if length > _MAX_RECORD or end > len(data):
            return  # torn at the end (or garbage): the rest is ignored
        body = data[start:end]
        if hashlib.sha256(body).digest() != digest:
            return
        delta = signed_pb2.StoredDelta()
        try:
            delta.ParseFromString(body)
        except DecodeError:
            return
        yield delta, end
        offset = end
