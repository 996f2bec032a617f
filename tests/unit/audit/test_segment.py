"""Segment files: names sort by number, and the tail a restart continues from is read
correctly however long the lines are."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from mesh.audit.chain import link
from mesh.audit.encoding import encode_entry, header_hash
from mesh.audit.errors import BrokenSegment
from mesh.audit.segment import OsSegmentFile, _lines_backwards, read_tail, segment_path, segment_paths
from mesh.v1 import audit_pb2
from tests.unit.audit.logs import record


def _segment(path: Path, *records_purposes: str) -> audit_pb2.AuditHeader:
    header = audit_pb2.AuditHeader(log_id="log-1", writer="spiffe://tsunagi.test/org/1/sys/a")
    records = [dataclasses.replace(record(i), purpose=p) for i, p in enumerate(records_purposes)]
    linked = link(records, 0, header_hash(header))
    path.write_bytes(encode_entry(audit_pb2.AuditEntry(header=header)) + linked.data)
    return header


def test_segments_are_ordered_by_number(tmp_path: Path) -> None:
    """audit-000010 comes after audit-000009; other files are not segments."""
    for number in (10, 9, 1):
        segment_path(tmp_path, number).touch()
    (tmp_path / "notes.txt").touch()
    (tmp_path / "audit-1.jsonl").touch()
    assert [p.name for p in segment_paths(tmp_path)] == [
        "audit-000001.jsonl", "audit-000009.jsonl", "audit-000010.jsonl"]


@pytest.mark.parametrize("sizes", [[10, 20, 30], [70_000, 5, 130_000, 65_535, 65_536, 1]])
def test_lines_are_read_backwards_across_chunks(tmp_path: Path, sizes: list[int]) -> None:
    """Reading from the end gives the same lines as reading forwards, lines longer than a chunk included."""
    path = tmp_path / "f"
    lines = [bytes([65 + i]) * size for i, size in enumerate(sizes)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert list(_lines_backwards(path, path.stat().st_size)) == lines[::-1]


def test_tail_of_a_segment_with_a_huge_last_record(tmp_path: Path) -> None:
    """The last record is found even when it is longer than the read chunk."""
    path = tmp_path / "audit-000001.jsonl"
    _segment(path, "short", "x" * 200_000)
    tail = read_tail(path)
    assert (tail.seq, tail.checkpointed, tail.size) == (2, False, path.stat().st_size)


def test_tail_of_a_segment_with_only_its_header(tmp_path: Path) -> None:
    """No record yet: seq 0, the head is the header's hash, nothing awaits a checkpoint."""
    path = tmp_path / "audit-000001.jsonl"
    header = _segment(path)
    tail = read_tail(path)
    assert (tail.seq, tail.hash, tail.checkpointed) == (0, header_hash(header), True)


def test_tail_with_a_checkpoint_for_another_record_is_broken(tmp_path: Path) -> None:
    """A trailing checkpoint that does not cover the last record means the tail was tampered with."""
    path = tmp_path / "audit-000001.jsonl"
    _segment(path, "a", "b")
    stray = audit_pb2.AuditCheckpoint(log_id="log-1", seq=1, hash="ab" * 32)
    path.write_bytes(path.read_bytes() + encode_entry(audit_pb2.AuditEntry(checkpoint=stray)))
    with pytest.raises(BrokenSegment, match="does not cover"):
        read_tail(path)


def test_sync_fsyncs_the_segment_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record counts as written only once it is durable: sync() must reach the disk."""
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    path = tmp_path / "audit-000001.jsonl"
    segment = OsSegmentFile(path, True)
    try:
        segment.write(b'{"seq":1}\n')
        before = len(synced)
        segment.sync()
    finally:
        segment.close()
    assert path.stat().st_ino in synced[before:]
