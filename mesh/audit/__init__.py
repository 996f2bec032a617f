"""The tamper-evident audit log: one record per exchange per sidecar, hash-chained, with
signed checkpoints that leave the sidecar. See README.md."""

from mesh.audit.checkpoint import CheckpointSink, MemoryCheckpointSink, sign_checkpoint, verify_checkpoint
from mesh.audit.digest import PayloadDigest, StreamDigester, message_digest
from mesh.audit.errors import AuditError, AuditUnavailable, BrokenSegment, CheckpointRejected, MalformedEntry
from mesh.audit.log import AuditLog
from mesh.audit.settings import AuditSettings
from mesh.audit.reader import Found, find_exchange, read_lines
from mesh.audit.record import Record
from mesh.audit.verify import Problem, VerifyReport, load_checkpoints, verify_log

__all__ = [
    "AuditError",
    "AuditLog",
    "AuditSettings",
    "AuditUnavailable",
    "BrokenSegment",
    "CheckpointRejected",
    "CheckpointSink",
    "Found",
    "MalformedEntry",
    "MemoryCheckpointSink",
    "PayloadDigest",
    "Problem",
    "Record",
    "StreamDigester",
    "VerifyReport",
    "find_exchange",
    "load_checkpoints",
    "message_digest",
    "read_lines",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_log",
]
