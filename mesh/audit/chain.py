"""The hash chain: turning records into linked AuditRecord lines after a given head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mesh.audit.record import Record
from mesh.audit.record_encoding import encode_linked


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
        head, line = encode_linked(record, seq, head)
        lines.append(line)
    return Linked(data=b"".join(lines), seq=seq, hash=head)
