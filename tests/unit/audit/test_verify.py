"""verify_log: an intact segment passes; every kind of tampering is named at the first bad
line and seq. The sample log: header (line 1), records 1-4 (lines 2-5), checkpoint 4 (line 6),
records 5-8 (7-10), checkpoint 8 (11), records 9-12 (12-15), checkpoint 12 (16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from certs.ca import Issued
from mesh.audit import sign_checkpoint, verify_log
from mesh.audit import verify as v
from mesh.audit.encoding import decode_line, encode_record, record_hash
from mesh.v1 import audit_pb2
from tests.support.badcerts import MeshPKI
from tests.unit.audit.conftest import SampleLog
from tests.unit.audit.logs import PEER, WRITER, edit_json, lines_of, write_lines


def test_sample_log_has_the_documented_layout(sample_log: SampleLog) -> None:
    """The fixture these tests rely on: 16 lines, checkpoints on lines 6, 11 and 16."""
    kinds = [decode_line(line).WhichOneof("entry") for line in lines_of(sample_log.path)]
    assert kinds == ["header"] + (["record"] * 4 + ["checkpoint"]) * 3
    assert [c.seq for c in sample_log.witness] == [4, 8, 12]


def test_intact_log_verifies(sample_log: SampleLog, pki: MeshPKI) -> None:
    """No problem, every record and checkpoint counted, every witness checkpoint matched."""
    report = verify_log(sample_log.path, [pki.root.cert], sample_log.witness)
    assert report.ok, report.problem
    assert (report.records, report.last_seq, report.checkpoints, report.witnessed) == (12, 12, 3, 3)
    assert report.writer == WRITER
    assert report.notes == ()


def test_intact_log_without_witness_or_bundle_verifies_with_notes(sample_log: SampleLog) -> None:
    """Offline, the chain still verifies; the report says what could not be checked."""
    report = verify_log(sample_log.path, None, ())
    assert report.ok
    assert any("no trust bundle" in note for note in report.notes)
    assert any("no witness" in note for note in report.notes)


def _edit(line: int, **fields: object) -> Callable[[list[bytes]], list[bytes]]:
    def tamper(lines: list[bytes]) -> list[bytes]:
        lines[line - 1] = edit_json(lines[line - 1], **fields)
        return lines
    return tamper


def _edit_and_rehash(lines: list[bytes]) -> list[bytes]:
    """Edit record 5 and fix its own hash: the next record's link breaks."""
    record = decode_line(lines[6]).record
    record.purpose = "marketing"
    record.hash = record_hash(record)
    lines[6] = encode_record(record)
    return lines


def _forge_signature(lines: list[bytes]) -> list[bytes]:
    checkpoint = decode_line(lines[10]).checkpoint
    checkpoint.signature = bytes(b ^ 0x01 for b in checkpoint.signature)
    lines[10] = _checkpoint_line(checkpoint)
    return lines


def _checkpoint_line(checkpoint: audit_pb2.AuditCheckpoint) -> bytes:
    from mesh.audit.encoding import encode_entry

    return encode_entry(audit_pb2.AuditEntry(checkpoint=checkpoint))


# (name, tamper, kind, line, seq); the witness is the sample log's.
TAMPERING: list[tuple[str, Callable[[list[bytes]], list[bytes]], str, int | None, int | None]] = [
    ("edited record", _edit(7, purpose="marketing"), v.ALTERED, 7, 5),
    ("denial turned into an allow", _edit(14, decision="AUDIT_DECISION_ALLOW", status="OK"), v.ALTERED, 14, 11),
    ("edited record with its hash recomputed", _edit_and_rehash, v.BROKEN_LINK, 8, 6),
    ("deleted record", lambda ls: ls[:6] + ls[7:], v.OUT_OF_SEQUENCE, 7, 6),
    ("deleted first record", lambda ls: ls[:1] + ls[2:], v.OUT_OF_SEQUENCE, 2, 2),
    ("reordered records", lambda ls: ls[:6] + [ls[7], ls[6]] + ls[8:], v.OUT_OF_SEQUENCE, 7, 6),
    ("duplicated record", lambda ls: ls[:8] + [ls[7]] + ls[8:], v.OUT_OF_SEQUENCE, 9, 6),
    ("truncated behind a checkpoint", lambda ls: ls[:13], v.TRUNCATED, None, 11),
    ("rolled back to an older checkpoint", lambda ls: ls[:11], v.ROLLED_BACK, None, 9),
    ("forged checkpoint signature", _forge_signature, v.BAD_CHECKPOINT, 11, 8),
    ("checkpoint moved", lambda ls: ls[:5] + [ls[10]] + ls[6:10] + ls[11:], v.BAD_CHECKPOINT, 6, 8),
    ("header removed", lambda ls: ls[1:], v.MALFORMED, 1, None),
    ("second header", lambda ls: ls[:5] + [ls[0]] + ls[5:], v.MALFORMED, 6, None),
    ("torn last line", lambda ls: ls[:-1] + [ls[-1][:-20]], v.MALFORMED, 16, None),
    ("garbage line", lambda ls: ls[:3] + [b"rm -rf /\n"] + ls[3:], v.MALFORMED, 4, None),
]


@pytest.mark.parametrize(("tamper", "kind", "line", "seq"),
                         [case[1:] for case in TAMPERING], ids=[case[0] for case in TAMPERING])
def test_tampering_is_named_at_the_first_bad_line(
    log_copy: Path, sample_log: SampleLog, pki: MeshPKI,
    tamper: Callable[[list[bytes]], list[bytes]], kind: str, line: int | None, seq: int | None,
) -> None:
    """Each tampering is detected as its kind, at the first line and seq it affects."""
    write_lines(log_copy, tamper(lines_of(log_copy)))
    report = verify_log(log_copy, [pki.root.cert], sample_log.witness)
    assert report.problem is not None, "tampering went unnoticed"
    assert (report.problem.kind, report.problem.line, report.problem.seq) == (kind, line, seq), report.problem


def test_truncation_behind_the_last_checkpoint_needs_the_witness(log_copy: Path, pki: MeshPKI) -> None:
    """Without the witness, a file cut right after a checkpoint looks intact (why checkpoints leave the sidecar)."""
    write_lines(log_copy, lines_of(log_copy)[:11])
    assert verify_log(log_copy, [pki.root.cert], ()).ok


def test_rewritten_history_is_caught_by_the_witness(log_copy: Path, sample_log: SampleLog, pki: MeshPKI) -> None:
    """Records re-chained from seq 5 on (in-file checkpoints dropped) differ from the witness at seq 8."""
    lines = lines_of(log_copy)
    kept = lines[:6]
    head = decode_line(lines[4]).record.hash
    for line in lines[6:]:
        entry = decode_line(line)
        if entry.WhichOneof("entry") != "record":
            continue
        record = entry.record
        if record.seq == 5:
            record.purpose = "marketing"
        record.prev_hash = head
        head = record.hash = record_hash(record)
        kept.append(encode_record(record))
    write_lines(log_copy, kept)
    report = verify_log(log_copy, [pki.root.cert], sample_log.witness)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq, report.problem.line) == (v.WITNESS_MISMATCH, 8, 10)
    assert verify_log(log_copy, [pki.root.cert], ()).ok  # only the witness can see it


def test_checkpoint_from_a_foreign_ca_is_detected(
    log_copy: Path, sample_log: SampleLog, pki: MeshPKI, foreign_pki: MeshPKI
) -> None:
    """A checkpoint re-signed by a certificate for the writer's ID from another CA is refused."""
    lines = lines_of(log_copy)
    original = decode_line(lines[5]).checkpoint
    forged = sign_checkpoint(foreign_pki.issue(WRITER), original.log_id, original.seq, original.hash)
    lines[5] = _checkpoint_line(forged)
    write_lines(log_copy, lines)
    report = verify_log(log_copy, [pki.root.cert], sample_log.witness)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.line) == (v.BAD_CHECKPOINT, 6)
    assert "not trusted" in report.problem.reason


def test_checkpoint_by_another_workload_is_detected(log_copy: Path, pki: MeshPKI) -> None:
    """A checkpoint signed by a mesh workload other than the header's writer is refused."""
    lines = lines_of(log_copy)
    original = decode_line(lines[5]).checkpoint
    lines[5] = _checkpoint_line(sign_checkpoint(pki.issue(PEER), original.log_id, original.seq, original.hash))
    write_lines(log_copy, lines)
    report = verify_log(log_copy, [pki.root.cert], ())
    assert report.problem is not None
    assert (report.problem.kind, report.problem.line) == (v.BAD_CHECKPOINT, 6)


def test_forged_witness_checkpoint_is_reported(sample_log: SampleLog, pki: MeshPKI) -> None:
    """A witness checkpoint whose signature does not verify is itself a problem."""
    forged = audit_pb2.AuditCheckpoint()
    forged.CopyFrom(sample_log.witness[-1])
    forged.seq = 13
    report = verify_log(sample_log.path, [pki.root.cert], [*sample_log.witness, forged])
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (v.BAD_CHECKPOINT, 13)


def test_witness_checkpoints_of_other_logs_are_ignored(sample_log: SampleLog, pki: MeshPKI, identity: Issued) -> None:
    """Checkpoints for another log id do not count against this one (and a note says so)."""
    other = sign_checkpoint(identity, "another-log", 99, "ab" * 32)
    report = verify_log(sample_log.path, [pki.root.cert], [*sample_log.witness, other])
    assert report.ok
    assert any("other logs" in note for note in report.notes)


def test_empty_file_is_malformed(tmp_path: Path) -> None:
    """A file with nothing in it has no header."""
    empty = tmp_path / "audit-000001.jsonl"
    empty.write_bytes(b"")
    report = verify_log(empty, None, ())
    assert report.problem is not None and report.problem.kind == v.MALFORMED
