"""The hash chain: turning records into linked AuditRecord lines after a given head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mesh.audit.encoding import encode_record, record_hash
from mesh.audit.record import Record, to_proto


@dataclass(frozen=True, slots=True)
class Linked:
    """Records linked after a head: their lines, and the new head (seq and hash)."""

    data: bytes
    seq: int
    hash: str


def link(records: Sequence[Record], seq: int, head: str) -> Linked:
    """Chain `records` after the record (or header) with sequence `seq` and hash `head`.
    Deterministic: the same inputs give the same bytes, so a failed write can be retried."""
    lines = []
    for record in records:
        seq += 1
        message = to_proto(record, seq, head)
        head = message.hash = record_hash(message)
        lines.append(encode_record(message))
    return Linked(data=b"".join(lines), seq=seq, hash=head)
