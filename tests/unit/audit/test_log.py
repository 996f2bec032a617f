"""AuditLog, the writer: nothing accepted is lost, an unwritable disk makes it unavailable
until it recovers on its own, a full queue pushes back, and a restart continues the chain."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from certs.ca import Issued
from mesh.audit import AuditLog, AuditUnavailable, MemoryCheckpointSink, verify_log
from mesh.audit.segment import OsSegmentFile, SegmentFile, segment_paths
from mesh.v1 import audit_pb2
from tests.support.badcerts import MeshPKI
from tests.support.wait import async_wait_until
from tests.unit.audit.logs import (
    GatedFile,
    Switch,
    failing_opener,
    read_entries,
    record,
    records_of,
    running,
    settings,
    write_log,
)


async def test_close_writes_every_appended_record(tmp_path: Path, identity: Issued, pki: MeshPKI) -> None:
    """N appends, then close: the segment holds exactly N records, seq 1..N, and verifies."""
    sink = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: identity, sink, settings(batch_max=64))
    async with running(log):
        for index in range(500):
            log.append(record(index))
    assert log.path is not None
    records = records_of(log.path)
    assert [r.seq for r in records] == list(range(1, 501))
    assert [r.exchange_id for r in records] == [f"ex-{i:04d}" for i in range(500)]
    assert verify_log(log.path, [pki.root.cert], sink.checkpoints).ok


async def test_close_publishes_a_final_checkpoint(tmp_path: Path, identity: Issued) -> None:
    """After close the witness holds a checkpoint for the last record."""
    sink = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: identity, sink, settings())
    async with running(log):
        for index in range(3):
            log.append(record(index))
    latest = sink.latest(log.log_id)
    assert latest is not None and latest.seq == 3
    assert read_entries(log.path).pop().checkpoint == latest  # type: ignore[arg-type]


async def test_checkpoint_follows_every_n_records(tmp_path: Path, identity: Issued) -> None:
    """With checkpoint_every=4, groups of 4 records each get their own checkpoint."""
    sink = MemoryCheckpointSink()
    await write_log(tmp_path, identity, sink, groups=(4, 4, 2), checkpoint_every=4)
    assert [c.seq for c in sink.checkpoints] == [4, 8, 10]  # 10: the final one on close


async def test_checkpoint_follows_the_interval(tmp_path: Path, identity: Issued) -> None:
    """A record and then silence: a checkpoint still comes, after checkpoint_interval."""
    sink = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: identity, sink, settings(checkpoint_interval=0.05))
    async with running(log):
        log.append(record(1))
        await async_wait_until(lambda: sink.latest(log.log_id) is not None, what="an interval checkpoint")
        assert sink.checkpoints[0].seq == 1


async def test_available_once_the_segment_is_open(tmp_path: Path, identity: Issued) -> None:
    """Not available before run() opened a segment, available after, not after close."""
    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings())
    assert not log.available
    async with running(log):
        await async_wait_until(lambda: log.available, what="the log to open")
    assert not log.available


async def test_append_after_close_is_refused(tmp_path: Path, identity: Issued) -> None:
    """A closed log takes no more records: AuditUnavailable."""
    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings())
    async with running(log):
        pass
    with pytest.raises(AuditUnavailable):
        log.append(record(1))


@pytest.mark.parametrize("torn", [False, True], ids=["write refused", "half a batch written"])
async def test_unwritable_log_is_unavailable_and_resumes(
    tmp_path: Path, identity: Issued, pki: MeshPKI, torn: bool
) -> None:
    """ENOSPC: available goes False, the accepted records are kept and retried, and once the
    disk takes writes again they are written in order, with no torn line left behind."""
    failing = Switch()
    sink = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: identity, sink, settings(), opener=failing_opener(failing, torn))
    with capture_logs() as events:
        async with running(log):
            log.append(record(0))
            await async_wait_until(lambda: log.backlog == 0 and log.available, what="the first record")
            failing.on()
            log.append(record(1))
            await async_wait_until(lambda: not log.available, what="the log to become unavailable")
            log.append(record(2))  # a call admitted just before: still taken, never dropped
            assert log.backlog == 2
            failing.off()
            await async_wait_until(lambda: log.available and log.backlog == 0, what="the log to resume")
    assert log.path is not None
    assert [r.exchange_id for r in records_of(log.path)] == ["ex-0000", "ex-0001", "ex-0002"]
    assert verify_log(log.path, [pki.root.cert], sink.checkpoints).ok
    names = [event["event"] for event in events]
    assert "audit_write_failed" in names and "audit_write_resumed" in names


async def test_segment_that_cannot_be_created_is_retried(tmp_path: Path, identity: Issued) -> None:
    """If even the first segment cannot be created, the log stays unavailable and opens later."""
    failing = Switch()
    failing.on()
    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings(), opener=failing_opener(failing))
    with capture_logs() as events:
        async with running(log):
            log.append(record(0))
            await async_wait_until(lambda: any(e["event"] == "audit_write_failed" for e in events),
                                   what="the first failed attempt")
            assert not log.available and segment_paths(tmp_path) == []
            failing.off()
            await async_wait_until(lambda: log.available and log.backlog == 0, what="the log to open")
    assert [p.name for p in segment_paths(tmp_path)] == ["audit-000001.jsonl"]


async def test_close_with_nothing_accepted_does_not_wait_for_the_disk(tmp_path: Path, identity: Issued) -> None:
    """A log that never managed to open and holds no record closes at once, without error."""
    failing = Switch()
    failing.on()
    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings(), opener=failing_opener(failing))
    with capture_logs() as events:
        task = asyncio.create_task(log.run())
        try:
            await async_wait_until(lambda: any(e["event"] == "audit_write_failed" for e in events),
                                   what="the first failed attempt")
            await log.close(timeout=5.0)
            assert task.done()
        finally:
            await _stop(task)
    assert segment_paths(tmp_path) == []


async def test_close_gives_up_when_the_disk_stays_unwritable(tmp_path: Path, identity: Issued) -> None:
    """close() does not wait forever: after its timeout it raises AuditUnavailable."""
    failing = Switch()
    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings(), opener=failing_opener(failing))
    task = asyncio.create_task(log.run())
    try:
        await async_wait_until(lambda: log.available, what="the log to open")
        failing.on()
        log.append(record(0))
        with pytest.raises(AuditUnavailable, match="1 audit records"):
            await log.close(timeout=0.1)
    finally:
        await _stop(task)


async def test_full_queue_pushes_back_without_dropping(tmp_path: Path, identity: Issued) -> None:
    """While the disk stalls: available goes False at the high-water mark, append raises only
    at capacity, and once the disk moves every accepted record is written."""
    gate = threading.Event()

    def opener(path: Path, create: bool) -> SegmentFile:
        return GatedFile(OsSegmentFile(path, create), gate)

    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(),
                   settings(capacity=8, headroom=4, batch_max=2), opener=opener)
    gate.set()
    task = asyncio.create_task(log.run())
    try:
        await async_wait_until(lambda: log.available, what="the log to open")
        gate.clear()  # the disk stalls
        for index in range(3):
            log.append(record(index))
        assert log.backlog == 3 and log.available
        log.append(record(3))  # reaches capacity - headroom
        assert not log.available
        for index in range(4, 8):
            log.append(record(index))
        with pytest.raises(AuditUnavailable, match="full"):
            log.append(record(8))
        gate.set()
        await async_wait_until(lambda: log.available and log.backlog == 0, what="the queue to drain")
        await log.close(timeout=10.0)
    finally:
        gate.set()
        await _stop(task)
    assert log.path is not None
    assert [r.seq for r in records_of(log.path)] == list(range(1, 9))


async def test_restart_continues_the_chain(tmp_path: Path, identity: Issued, pki: MeshPKI) -> None:
    """A second writer on the same directory appends to the same segment, seq and links unbroken."""
    sink = MemoryCheckpointSink()
    first = await write_log(tmp_path, identity, sink, groups=(3,), checkpoint_every=100)
    second = await write_log(tmp_path, identity, sink, groups=(2,), checkpoint_every=100, start=3)
    assert first == second
    entries = read_entries(first)
    assert [e.WhichOneof("entry") for e in entries].count("header") == 1
    assert [r.seq for r in records_of(first)] == [1, 2, 3, 4, 5]
    report = verify_log(first, [pki.root.cert], sink.checkpoints)
    assert report.ok and report.witnessed == 2


async def test_restart_checkpoints_an_uncovered_tail(tmp_path: Path, identity: Issued) -> None:
    """Records left without a checkpoint by a crash get one after the restart."""
    sink = MemoryCheckpointSink()
    path = await write_log(tmp_path, identity, sink, groups=(3,), checkpoint_every=100)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))  # as if the process died before its last checkpoint
    restarted = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: identity, restarted, settings())
    async with running(log):
        await async_wait_until(lambda: log.available, what="the log to reopen")
    latest = restarted.latest(log.log_id)
    assert latest is not None and latest.seq == 3


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: data + b'{"record":{"seq":"4"', "torn"),
        (lambda data: data.replace(b"eldercare-mobility", b"eldercare-mobilitx"), "hash"),
        (lambda data: b"", "first line"),
    ],
    ids=["torn last line", "altered last record", "empty file"],
)
async def test_broken_segment_is_left_alone_and_a_new_one_started(
    tmp_path: Path, identity: Issued, pki: MeshPKI, damage: object, reason: str
) -> None:
    """A segment whose tail does not verify is not continued: it stays as it is, and the next
    segment's header names it and says why."""
    sink = MemoryCheckpointSink()
    old = await write_log(tmp_path, identity, sink, groups=(3,), checkpoint_every=100)
    lines = old.read_bytes().splitlines(keepends=True)
    old.write_bytes(damage(b"".join(lines[:-1])))  # type: ignore[operator]
    damaged = old.read_bytes()
    new = await write_log(tmp_path, identity, sink, groups=(2,), checkpoint_every=100)
    assert new.name == "audit-000002.jsonl"
    assert old.read_bytes() == damaged
    header = read_entries(new)[0].header
    assert header.previous.file == old.name
    assert reason in header.previous.reason
    assert [r.seq for r in records_of(new)] == [1, 2]
    assert verify_log(new, [pki.root.cert], sink.checkpoints).ok


async def test_segment_of_another_writer_is_not_continued(tmp_path: Path, identity: Issued, pki: MeshPKI) -> None:
    """A directory last written by another workload gets a new segment, never a mixed chain."""
    sink = MemoryCheckpointSink()
    await write_log(tmp_path, pki.issue("spiffe://tsunagi.test/org/131008/sys/other"), sink,
                    groups=(1,), checkpoint_every=100)
    new = await write_log(tmp_path, identity, sink, groups=(1,), checkpoint_every=100)
    assert new.name == "audit-000002.jsonl"
    assert "written by spiffe://tsunagi.test/org/131008/sys/other" in read_entries(new)[0].header.previous.reason


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel the writer task (if still running) and wait for it: no task outlives a test."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class _FailingSink:
    """A sink that refuses the first `failures` submissions."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[audit_pb2.AuditCheckpoint] = []

    async def submit(self, checkpoint: audit_pb2.AuditCheckpoint) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("control plane unreachable")
        self.received.append(checkpoint)


async def test_failing_sink_neither_blocks_records_nor_loses_the_newest_checkpoint(
    tmp_path: Path, identity: Issued
) -> None:
    """While the sink fails, records keep being written; the newest checkpoint arrives later."""
    sink = _FailingSink(failures=3)
    log = AuditLog(tmp_path, lambda: identity, sink, settings(checkpoint_every=2))
    async with running(log):
        for index in range(6):
            log.append(record(index))
            await async_wait_until(lambda: log.backlog == 0, what="the record to be written")
        await async_wait_until(lambda: any(c.seq == 6 for c in sink.received), what="the newest checkpoint")
    assert log.path is not None and len(records_of(log.path)) == 6


async def test_unusable_identity_skips_checkpoints_but_keeps_records(tmp_path: Path, pki: MeshPKI) -> None:
    """An identity without a key cannot sign: records are still written, with no checkpoint."""
    keyless = Issued(cert=pki.issue("spiffe://tsunagi.test/org/131008/sys/kaigo").cert, key=None)
    sink = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: keyless, sink, settings(checkpoint_every=1))
    with capture_logs() as events:
        async with running(log):
            log.append(record(0))
    assert log.path is not None and len(records_of(log.path)) == 1
    assert sink.checkpoints == []
    assert "audit_checkpoint_unsigned" in [event["event"] for event in events]


async def test_cancelled_run_closes_the_segment(tmp_path: Path, identity: Issued) -> None:
    """run() owns the open segment: once run() is cancelled, the log is no longer available."""
    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings())
    task = asyncio.create_task(log.run())
    await async_wait_until(lambda: log.available, what="the log to open")
    await _stop(task)
    assert not log.available


async def test_open_while_the_writer_opens_makes_one_segment(tmp_path: Path, identity: Issued) -> None:
    """open() racing run()'s own opening still opens a single segment."""
    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings())
    async with running(log):
        await log.open()
        log.append(record(0))
    assert [p.name for p in segment_paths(tmp_path)] == ["audit-000001.jsonl"]
    assert log.path is not None and len(records_of(log.path)) == 1


class _CountingFile(OsSegmentFile):
    """A real segment file that counts its writes and fsyncs."""

    writes = 0
    syncs = 0

    def write(self, data: bytes) -> None:
        type(self).writes += 1
        super().write(data)

    def sync(self) -> None:
        type(self).syncs += 1
        super().sync()


def _counting() -> type[_CountingFile]:
    return type("Counting", (_CountingFile,), {"writes": 0, "syncs": 0})


def _counted_log(tmp_path: Path, identity: Issued, sink: MemoryCheckpointSink | None = None,
                 **options: float) -> tuple[type[_CountingFile], AuditLog]:
    """An AuditLog whose segment files count their writes and fsyncs."""
    counting = _counting()
    log = AuditLog(tmp_path, lambda: identity, sink or MemoryCheckpointSink(), settings(**options),
                   opener=counting)
    return counting, log


async def test_a_burst_of_records_shares_one_write_and_fsync(tmp_path: Path, identity: Issued) -> None:
    """Group commit: records appended together are written and fsynced as one batch."""
    counting, log = _counted_log(tmp_path, identity)
    async with running(log):
        await async_wait_until(lambda: log.available, what="the log to open")
        opened = (counting.writes, counting.syncs)
        for index in range(50):
            log.append(record(index))
        await async_wait_until(lambda: log.backlog == 0, what="the burst to be durable")
        assert (counting.writes - opened[0], counting.syncs - opened[1]) == (1, 1)
    assert log.path is not None and len(records_of(log.path)) == 50


async def test_batches_within_the_sync_interval_share_one_fsync(tmp_path: Path, identity: Issued) -> None:
    """Batches are written at once, but fsynced together once sync_interval has passed: the
    records are in the file before their fsync, and durable (backlog 0) only after it."""
    counting, log = _counted_log(tmp_path, identity, sync_interval=0.5, batch_linger=0.0)
    async with running(log):
        await async_wait_until(lambda: log.available, what="the log to open")
        opened = counting.syncs
        for index in range(3):
            log.append(record(index))
            await async_wait_until(lambda: len(records_of(log.path)) == index + 1,  # type: ignore[arg-type]
                                   what="the record to be written")
        assert counting.writes >= 4 and counting.syncs == opened
        assert log.backlog == 3
        await async_wait_until(lambda: log.backlog == 0, timeout=5.0, what="the fsync after sync_interval")
        assert counting.syncs == opened + 1


async def test_a_checkpoint_is_published_only_once_durable(tmp_path: Path, identity: Issued) -> None:
    """The witness never gets a checkpoint for records that are not yet fsynced: the checkpoint
    forces the fsync, whatever sync_interval says."""
    sink = MemoryCheckpointSink()
    counting, log = _counted_log(tmp_path, identity, sink, sync_interval=3600.0, checkpoint_every=2)
    async with running(log):
        await async_wait_until(lambda: log.available, what="the log to open")
        opened = counting.syncs
        log.append(record(0))
        log.append(record(1))
        await async_wait_until(lambda: sink.latest(log.log_id) is not None, what="the checkpoint")
        assert counting.syncs == opened + 1 and log.backlog == 0


async def test_failed_fsync_is_retried_with_the_records_written_again(tmp_path: Path, identity: Issued,
                                                                    pki: MeshPKI) -> None:
    """An fsync that fails may have lost the written pages: the log turns unavailable, and
    once fsync works again the file holds every record exactly once, and verifies."""
    failing = Switch()
    sink = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: identity, sink, settings(),
                   opener=failing_opener(failing, sync_fails=True))
    with capture_logs() as events:
        async with running(log):
            await async_wait_until(lambda: log.available, what="the log to open")
            log.append(record(0))
            await async_wait_until(lambda: log.backlog == 0, what="the first record")
            failing.on()
            log.append(record(1))
            await async_wait_until(lambda: not log.available, what="the log to become unavailable")
            assert log.backlog == 1
            failing.off()
            await async_wait_until(lambda: log.available and log.backlog == 0, what="the log to resume")
            log.append(record(2))
    assert log.path is not None
    assert [r.seq for r in records_of(log.path)] == [1, 2, 3]
    assert verify_log(log.path, [pki.root.cert], sink.checkpoints).ok
    names = [event["event"] for event in events]
    assert "audit_write_failed" in names and "audit_write_resumed" in names


async def test_a_segment_dropped_after_a_failure_is_restored(tmp_path: Path, identity: Issued,
                                                             pki: MeshPKI) -> None:
    """When a failed write cannot even be cut back, the segment is reopened and cut back to
    its durable size with the unsynced records put back: one segment, every record once."""
    failing = Switch()
    sink = MemoryCheckpointSink()
    log = AuditLog(tmp_path, lambda: identity, sink, settings(sync_interval=3600.0),
                   opener=failing_opener(failing, torn=True, truncate_fails=True))
    async with running(log):
        await async_wait_until(lambda: log.available, what="the log to open")
        log.append(record(0))
        await async_wait_until(lambda: log.path is not None and len(records_of(log.path)) == 1,
                               what="the first record to be written")
        failing.on()
        log.append(record(1))
        await async_wait_until(lambda: not log.available, what="the log to become unavailable")
        failing.off()
        await async_wait_until(lambda: log.available, what="the log to resume")
    assert [p.name for p in segment_paths(tmp_path)] == ["audit-000001.jsonl"]
    assert [r.seq for r in records_of(log.path)] == [1, 2]
    assert verify_log(log.path, [pki.root.cert], sink.checkpoints).ok


async def test_unexpected_writer_error_ends_run_with_it(tmp_path: Path, identity: Issued) -> None:
    """A bug in the writer is not swallowed: run() raises it, as a task would."""

    def broken(path: Path, create: bool) -> SegmentFile:
        raise RuntimeError("bug in the opener")

    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings(), opener=broken)
    with pytest.raises(ExceptionGroup) as raised:
        await asyncio.wait_for(log.run(), timeout=10.0)
    assert raised.group_contains(RuntimeError, match="bug in the opener")


async def test_records_built_by_the_writer_are_written_in_order(tmp_path: Path, identity: Issued) -> None:
    """A builder handed to append is called when the writer takes its batch, in append order;
    one that fails is reported and does not stall the log."""
    built: list[int] = []

    def builder(index: int):  # type: ignore[no-untyped-def]
        def build():  # type: ignore[no-untyped-def]
            built.append(index)
            if index == 2:
                raise ValueError("a bug in the builder")
            return record(index)
        return build

    log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(), settings(batch_linger=0.05))
    with capture_logs() as events:
        async with running(log):
            await async_wait_until(lambda: log.available, what="the log to open")
            for index in range(4):
                log.append(builder(index))
            assert built == []  # nothing built on the caller's path
            log.append(record(4))
            await async_wait_until(lambda: log.backlog == 0, what="the batch to be durable")
    assert built == [0, 1, 2, 3]
    assert log.path is not None
    assert [r.exchange_id for r in records_of(log.path)] == ["ex-0000", "ex-0001", "ex-0003", "ex-0004"]
    assert "audit_record_unbuildable" in [event["event"] for event in events]


async def test_a_lone_record_is_written_and_synced_without_further_calls(tmp_path: Path, identity: Issued) -> None:
    """With no later append to wake the writer, timers still write a batch and fsync it: a
    record never waits for the next call."""
    counting, log = _counted_log(tmp_path, identity, batch_linger=0.05, sync_interval=0.1)
    async with running(log):
        await async_wait_until(lambda: log.available, what="the log to open")
        opened = counting.syncs
        log.append(record(0))
        await async_wait_until(lambda: log.backlog == 0, timeout=5.0, what="the lone record to be durable")
        assert counting.syncs == opened + 1
        assert log.path is not None and len(records_of(log.path)) == 1
