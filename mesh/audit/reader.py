"""Reading a log segment line by line, and finding an exchange's records across segments."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mesh.audit.encoding import decode_line
from mesh.audit.errors import MalformedEntry
from mesh.v1 import audit_pb2


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a segment (numbered from 1): its entry, or why it could not be read."""

    number: int
    entry: audit_pb2.AuditEntry | None
    error: str | None = None


def read_lines(path: Path) -> Iterator[Line]:
    """Every line of the segment at `path`, in order, streamed. A final line without its
    newline is reported as torn. OSError if the file cannot be read."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                yield Line(number, None, "line is torn (no newline at the end of the file)")
                return
            try:
                yield Line(number, decode_line(raw))
            except MalformedEntry as err:
                yield Line(number, None, err.reason)


@dataclass(frozen=True, slots=True)
class Found:
    """A record of the exchange looked for, and where it is."""

    path: Path
    line: int
    record: audit_pb2.AuditRecord


def find_exchange(paths: Iterable[Path], exchange_id: str) -> Iterator[Found]:
    """The records of `exchange_id` in the given segments, in file then line order. Lines
    that cannot be read are skipped here; `verify` is what reports them."""
    # The id as the canonical writer escapes it inside a JSON string.
    needle = json.dumps(exchange_id, ensure_ascii=False)[1:-1].encode("utf-8")
    for path in paths:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if needle not in raw:  # cheap prefilter: most lines are other exchanges
                    continue
                try:
                    entry = decode_line(raw)
                except MalformedEntry:
                    continue
                if entry.WhichOneof("entry") == "record" and entry.record.exchange_id == exchange_id:
                    yield Found(path, number, entry.record)
