"""Record: one exchange as one sidecar handled it, the value the data path hands the log.

It holds the fields of the AuditRecord message (mesh/v1/audit.proto) as plain values and is
checked when it is made; the writer encodes it when it chains it, off the request path
(record_encoding.py; `to_proto` is the general route, through protobuf).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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
_ZERO = timedelta(0)
_MAX_DURATION = timedelta(seconds=315_576_000_000)  # google.protobuf.Duration's range
_UINT64_END = 1 << 64
_INT64_END = 1 << 63


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
        # On the event loop: cheap checks only, but all that the writer relies on.
        if self.side not in _SIDES:
            raise ValueError(f"side must be 'outbound' or 'inbound', not {self.side!r}")
        if self.decision not in _DECISIONS:
            raise ValueError(f"decision must be 'allow' or 'deny', not {self.decision!r}")
        if self.status not in _STATUS_NAMES:
            raise ValueError(f"status must be a gRPC status code name, not {self.status!r}")
        offset = self.time.utcoffset()
        if offset is None:
            raise ValueError("time must be timezone-aware")
        if offset:
            try:
                self.time.astimezone(timezone.utc)
            except OverflowError:
                raise ValueError("time must fall within the years 1 to 9999 in UTC") from None
        if not _ZERO <= self.duration <= _MAX_DURATION:
            raise ValueError("duration must be between 0 and 10,000 years")
        if type(self.config_version) is not int or not 0 <= self.config_version < _UINT64_END:
            raise ValueError("config_version must be an int that fits uint64")
        if type(self.config_revision) is not int or not -_INT64_END <= self.config_revision < _INT64_END:
            raise ValueError("config_revision must be an int that fits int64")
        if type(self.mappings) is not tuple:
            raise ValueError("mappings must be a tuple")
        # A string protobuf cannot encode would wedge the writer; refuse it here instead.
        "".join((self.exchange_id, self.caller, self.callee, self.method, self.purpose, self.rule,
                 *self.mappings)).encode("utf-8")


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
