"""Record: one exchange as one sidecar handled it, the value the data path hands the log.

The writer turns it into the AuditRecord message (mesh/v1/audit.proto) when it chains it, off
the request path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import grpc

from mesh.audit.digest import PayloadDigest
from mesh.v1 import audit_pb2

Side = Literal["outbound", "inbound"]
Decision = Literal["allow", "deny"]

_SIDES: dict[str, audit_pb2.AuditSide] = {
    "outbound": audit_pb2.AUDIT_SIDE_OUTBOUND,
    "inbound": audit_pb2.AUDIT_SIDE_INBOUND,
}
_DECISIONS: dict[str, audit_pb2.AuditDecision] = {
    "allow": audit_pb2.AUDIT_DECISION_ALLOW,
    "deny": audit_pb2.AUDIT_DECISION_DENY,
}
_STATUS_NAMES = frozenset(code.name for code in grpc.StatusCode)


@dataclass(frozen=True, slots=True)
class Record:
    """One exchange as one sidecar saw it. See AuditRecord in audit.proto for each field.

    `status` is a gRPC status code name ("OK", "PERMISSION_DENIED", …); `mappings` are
    "name@version". Invalid values raise ValueError at construction, never in the writer.
    """

    exchange_id: str
    time: datetime
    side: Side
    caller: str
    callee: str
    method: str
    purpose: str
    decision: Decision
    rule: str
    status: str
    mappings: tuple[str, ...] = ()
    request: PayloadDigest | None = None
    response: PayloadDigest | None = None
    config_version: int = 0
    config_revision: int = 0
    duration: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.side not in _SIDES:
            raise ValueError(f"side must be 'outbound' or 'inbound', not {self.side!r}")
        if self.decision not in _DECISIONS:
            raise ValueError(f"decision must be 'allow' or 'deny', not {self.decision!r}")
        if self.status not in _STATUS_NAMES:
            raise ValueError(f"status must be a gRPC status code name, not {self.status!r}")
        if self.time.tzinfo is None:
            raise ValueError("time must be timezone-aware")
        if self.duration < timedelta(0):
            raise ValueError("duration cannot be negative")
        if not 0 <= self.config_version < 1 << 64:
            raise ValueError("config_version must fit uint64")
        if not -(1 << 63) <= self.config_revision < 1 << 63:
            raise ValueError("config_revision must fit int64")
        # A string protobuf cannot encode would wedge the writer; refuse it here instead.
        for text in (self.exchange_id, self.caller, self.callee, self.method, self.purpose,
                     self.rule, *self.mappings):
            text.encode("utf-8")


def to_proto(record: Record, seq: int, prev_hash: str) -> audit_pb2.AuditRecord:
    """The AuditRecord for `record` at position `seq` after `prev_hash`; `hash` is left empty
    for the chain to fill in."""
    message = audit_pb2.AuditRecord(
        seq=seq,
        prev_hash=prev_hash,
        exchange_id=record.exchange_id,
        side=_SIDES[record.side],
        caller=record.caller,
        callee=record.callee,
        method=record.method,
        purpose=record.purpose,
        decision=_DECISIONS[record.decision],
        rule=record.rule,
        status=record.status,
        mappings=record.mappings,
        config_version=record.config_version,
        config_revision=record.config_revision,
    )
    message.time.FromDatetime(record.time)
    message.duration.FromTimedelta(record.duration)
    if record.request is not None:
        _set_payload(message.request, record.request)
    if record.response is not None:
        _set_payload(message.response, record.response)
    return message


def _set_payload(target: audit_pb2.AuditPayload, digest: PayloadDigest) -> None:
    if digest.messages is None:
        target.sha256 = digest.sha256
    else:
        target.stream.messages = digest.messages
        target.stream.sha256 = digest.sha256
