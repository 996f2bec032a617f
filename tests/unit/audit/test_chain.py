"""The hash chain: seq 1, 2, 3 …, each record's prev_hash is the hash before it, the first
one links to the header, and linking is deterministic (so a failed write can be retried)."""

from __future__ import annotations

from mesh.audit.chain import link
from mesh.audit.encoding import decode_line, header_hash, record_hash
from mesh.v1 import audit_pb2
from tests.unit.audit.logs import record


def _records(data: bytes) -> list[audit_pb2.AuditRecord]:
    return [decode_line(line).record for line in data.splitlines(keepends=True)]


def test_records_are_numbered_and_linked_from_the_header() -> None:
    """seq runs 1..n, record 1 links to the header's hash, each later one to its predecessor."""
    anchor = header_hash(audit_pb2.AuditHeader(log_id="l", writer="w"))
    linked = link([record(i) for i in range(5)], 0, anchor)
    chained = _records(linked.data)
    assert [r.seq for r in chained] == [1, 2, 3, 4, 5]
    assert [r.prev_hash for r in chained] == [anchor] + [r.hash for r in chained[:-1]]
    assert all(record_hash(r) == r.hash for r in chained)
    assert (linked.seq, linked.hash) == (5, chained[-1].hash)


def test_linking_continues_after_a_given_head() -> None:
    """Linking two batches one after the other gives the same chain as one batch."""
    records = [record(i) for i in range(6)]
    whole = link(records, 0, "aa" * 32)
    first = link(records[:2], 0, "aa" * 32)
    second = link(records[2:], first.seq, first.hash)
    assert first.data + second.data == whole.data
    assert (second.seq, second.hash) == (whole.seq, whole.hash)


def test_linking_is_deterministic() -> None:
    """The same records after the same head give the same bytes."""
    records = [record(i) for i in range(3)]
    assert link(records, 7, "bb" * 32) == link(records, 7, "bb" * 32)


def test_nothing_to_link_leaves_the_head() -> None:
    """An empty batch writes nothing and keeps the head (a checkpoint-only write)."""
    linked = link([], 4, "cc" * 32)
    assert (linked.data, linked.seq, linked.hash) == (b"", 4, "cc" * 32)
