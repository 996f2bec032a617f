"""Verifying a log segment: the hash chain, its checkpoints, and the witness's checkpoints.

verify_log names the first thing wrong (line and seq) and why, or reports the segment intact.
Records cut from the end of a file leave no trace in it; only the witness's checkpoints
(kept outside the sidecar) reveal that.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from google.protobuf import json_format

from mesh.audit.checkpoint import verify_checkpoint
from mesh.audit.encoding import header_hash, record_hash
from mesh.audit.errors import CheckpointRejected
from mesh.audit.reader import read_lines
from mesh.v1 import audit_pb2

# Problem kinds, for scripts and tests; `reason` is the sentence for people.
MALFORMED = "malformed"            # a line that is not one well-formed entry, or no header
ALTERED = "altered"                # a record's contents do not match its hash
OUT_OF_SEQUENCE = "out-of-sequence"  # a seq is missing, repeated or out of order
BROKEN_LINK = "broken-link"        # prev_hash is not the previous record's hash
BAD_CHECKPOINT = "bad-checkpoint"  # bad signature, untrusted signer, or covers another head
WITNESS_MISMATCH = "witness-mismatch"  # the record at a witnessed seq has another hash
TRUNCATED = "truncated"            # the witness has checkpoints past the end of the file
ROLLED_BACK = "rolled-back"        # the file ends at an older checkpoint than the witness's


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing wrong with a segment. `line` is None when it is not on a line (a
    witness checkpoint, or records missing after the end); `seq` when no record is involved."""

    kind: str
    reason: str
    line: int | None = None
    seq: int | None = None

    def where(self) -> str:
        parts = [f"line {self.line}" if self.line is not None else "",
                 f"seq {self.seq}" if self.seq is not None else ""]
        return ", ".join(p for p in parts if p) or "log"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What verify_log found. `ok` only when there is no problem."""

    path: Path
    log_id: str = ""
    writer: str = ""
    records: int = 0
    last_seq: int = 0
    last_hash: str = ""
    checkpoints: int = 0
    witnessed: int = 0
    problem: Problem | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Failed(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


@dataclass(slots=True)
class _State:
    header: audit_pb2.AuditHeader | None = None
    seq: int = 0
    head: str = ""
    records: int = 0
    checkpoints: int = 0
    witnessed: int = 0
    last_line_checkpoint_seq: int | None = None  # seq of the checkpoint on the last line


def verify_log(
    path: Path,
    roots: Sequence[x509.Certificate] | None,
    witness_checkpoints: Iterable[audit_pb2.AuditCheckpoint] = (),
) -> VerifyReport:
    """Verify the segment at `path`: header, every record's hash, seq and link, every
    checkpoint's signature (its signer must be the header's writer and, given `roots`, chain
    to them), then the witness's checkpoints for this log (each must match the record at its
    seq; none may lie past the end). OSError if the file cannot be read."""
    state = _State()
    notes: list[str] = []
    try:
        _walk(path, roots, list(witness_checkpoints), state, notes)
    except _Failed as failed:
        return _report(path, state, notes, failed.problem)
    return _report(path, state, notes, None)


def load_checkpoints(path: Path) -> list[audit_pb2.AuditCheckpoint]:
    """Witness checkpoints from a file holding AuditCheckpoints as proto3 JSON (strict).
    ValueError when it is not that; OSError when it cannot be read."""
    message = audit_pb2.AuditCheckpoints()
    try:
        json_format.Parse(Path(path).read_text(encoding="utf-8"), message, ignore_unknown_fields=False)
    except (json_format.ParseError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not an AuditCheckpoints JSON document: {err}") from None
    return list(message.checkpoints)


def _walk(
    path: Path,
    roots: Sequence[x509.Certificate] | None,
    witness: list[audit_pb2.AuditCheckpoint],
    state: _State,
    notes: list[str],
) -> None:
    if roots is None:
        notes.append("no trust bundle: checkpoint signers were not checked against trusted roots")
    mine: deque[audit_pb2.AuditCheckpoint] = deque()
    for line in read_lines(path):
        if line.entry is None:
            raise _Failed(Problem(MALFORMED, line.error or "unreadable line", line.number))
        kind = line.entry.WhichOneof("entry")
        if state.header is None:
            if kind != "header":
                raise _Failed(Problem(MALFORMED, "the first line is not a header", line.number))
            state.header = line.entry.header
            state.head = header_hash(state.header)
            mine = _witness_for(state.header, witness, roots, notes)
            continue
        if kind == "header":
            raise _Failed(Problem(MALFORMED, "a second header inside the segment", line.number))
        if kind == "record":
            _check_record(line.entry.record, line.number, state)
            _check_witness_at(state, mine, line.number)
            state.last_line_checkpoint_seq = None
        else:
            _check_checkpoint(line.entry.checkpoint, line.number, state, roots)
            state.last_line_checkpoint_seq = line.entry.checkpoint.seq
    if state.header is None:
        raise _Failed(Problem(MALFORMED, "the file is empty: no header", 1))
    if not witness:
        notes.append("no witness checkpoints: records removed from the end of the file "
                     "(truncation, rollback) cannot be detected")
    beyond = [c for c in mine if c.seq > state.seq]
    if beyond:
        latest = max(c.seq for c in beyond)
        if state.last_line_checkpoint_seq is not None:
            raise _Failed(Problem(
                ROLLED_BACK,
                f"the file ends at its checkpoint for seq {state.last_line_checkpoint_seq}, but the "
                f"witness holds a checkpoint for seq {latest}: the log was rolled back",
                None, state.seq + 1))
        raise _Failed(Problem(
            TRUNCATED,
            f"the file ends at seq {state.seq}, but the witness holds a checkpoint for seq "
            f"{latest}: records after seq {state.seq} were removed",
            None, state.seq + 1))


def _witness_for(
    header: audit_pb2.AuditHeader,
    witness: list[audit_pb2.AuditCheckpoint],
    roots: Sequence[x509.Certificate] | None,
    notes: list[str],
) -> deque[audit_pb2.AuditCheckpoint]:
    """The witness checkpoints of this log, verified, by ascending seq."""
    mine = sorted((c for c in witness if c.log_id == header.log_id), key=lambda c: c.seq)
    if len(mine) < len(witness):
        notes.append(f"{len(witness) - len(mine)} witness checkpoints are for other logs; ignored")
    for checkpoint in mine:
        try:
            verify_checkpoint(checkpoint, header.writer, roots)
        except CheckpointRejected as err:
            raise _Failed(Problem(BAD_CHECKPOINT, f"witness checkpoint for seq {checkpoint.seq}: "
                                  f"{err.reason}", None, checkpoint.seq)) from None
    return deque(mine)


def _check_record(record: audit_pb2.AuditRecord, number: int, state: _State) -> None:
    expected = state.seq + 1
    if record.seq != expected:
        what = ("missing (deleted?)" if record.seq > expected else "repeated or out of order")
        raise _Failed(Problem(OUT_OF_SEQUENCE, f"expected seq {expected}, found seq {record.seq}: "
                              f"records are {what}", number, record.seq))
    if record_hash(record) != record.hash:
        raise _Failed(Problem(ALTERED, "the record does not match its hash: it was altered",
                              number, record.seq))
    if record.prev_hash != state.head:
        before = f"seq {state.seq}" if state.seq else "the header"
        raise _Failed(Problem(BROKEN_LINK, f"prev_hash is not the hash of {before}: a record was "
                              "altered, inserted or removed before this one", number, record.seq))
    state.seq, state.head = record.seq, record.hash
    state.records += 1


def _check_witness_at(state: _State, mine: deque[audit_pb2.AuditCheckpoint], number: int) -> None:
    while mine and mine[0].seq <= state.seq:  # bounded: pops one per pass
        checkpoint = mine.popleft()
        if checkpoint.seq == state.seq and checkpoint.hash != state.head:
            raise _Failed(Problem(WITNESS_MISMATCH, f"the witness's checkpoint for seq {state.seq} "
                                  "holds another hash: the log was rewritten", number, state.seq))
        state.witnessed += 1


def _check_checkpoint(
    checkpoint: audit_pb2.AuditCheckpoint,
    number: int,
    state: _State,
    roots: Sequence[x509.Certificate] | None,
) -> None:
    assert state.header is not None
    if checkpoint.log_id != state.header.log_id:
        raise _Failed(Problem(BAD_CHECKPOINT, f"checkpoint is for log {checkpoint.log_id}",
                              number, checkpoint.seq))
    if (checkpoint.seq, checkpoint.hash) != (state.seq, state.head) or state.seq == 0:
        raise _Failed(Problem(BAD_CHECKPOINT, f"checkpoint for seq {checkpoint.seq} does not cover "
                              f"the record before it (seq {state.seq})", number, checkpoint.seq))
    try:
        verify_checkpoint(checkpoint, state.header.writer, roots)
    except CheckpointRejected as err:
        raise _Failed(Problem(BAD_CHECKPOINT, err.reason, number, checkpoint.seq)) from None
    state.checkpoints += 1


def _report(path: Path, state: _State, notes: list[str], problem: Problem | None) -> VerifyReport:
    header = state.header
    return VerifyReport(
        path=path,
        log_id=header.log_id if header else "",
        writer=header.writer if header else "",
        records=state.records,
        last_seq=state.seq,
        last_hash=state.head,
        checkpoints=state.checkpoints,
        witnessed=state.witnessed,
        problem=problem,
        notes=tuple(notes),
    )
