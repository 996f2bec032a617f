import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_SIDE_UNSPECIFIED: _ClassVar[AuditSide]
    AUDIT_SIDE_OUTBOUND: _ClassVar[AuditSide]
    AUDIT_SIDE_INBOUND: _ClassVar[AuditSide]

class AuditDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_DECISION_UNSPECIFIED: _ClassVar[AuditDecision]
    AUDIT_DECISION_ALLOW: _ClassVar[AuditDecision]
    AUDIT_DECISION_DENY: _ClassVar[AuditDecision]
AUDIT_SIDE_UNSPECIFIED: AuditSide
AUDIT_SIDE_OUTBOUND: AuditSide
AUDIT_SIDE_INBOUND: AuditSide
AUDIT_DECISION_UNSPECIFIED: AuditDecision
AUDIT_DECISION_ALLOW: AuditDecision
AUDIT_DECISION_DENY: AuditDecision

class AuditEntry(_message.Message):
    __slots__ = ("header", "record", "checkpoint")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    header: AuditHeader
    record: AuditRecord
    checkpoint: AuditCheckpoint
    def __init__(self, header: _Optional[_Union[AuditHeader, _Mapping]] = ..., record: _Optional[_Union[AuditRecord, _Mapping]] = ..., checkpoint: _Optional[_Union[AuditCheckpoint, _Mapping]] = ...) -> None: ...

class AuditHeader(_message.Message):
    __slots__ = ("log_id", "writer", "created_at", "previous")
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    WRITER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    log_id: str
    writer: str
    created_at: _timestamp_pb2.Timestamp
    previous: AuditSegmentBreak
    def __init__(self, log_id: _Optional[str] = ..., writer: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous: _Optional[_Union[AuditSegmentBreak, _Mapping]] = ...) -> None: ...

class AuditSegmentBreak(_message.Message):
    __slots__ = ("file", "log_id", "reason")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    file: str
    log_id: str
    reason: str
    def __init__(self, file: _Optional[str] = ..., log_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("seq", "prev_hash", "hash", "exchange_id", "time", "duration", "side", "caller", "callee", "method", "purpose", "decision", "rule", "status", "mappings", "request", "response", "config_version", "config_revision")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    CALLEE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_REVISION_FIELD_NUMBER: _ClassVar[int]
    seq: int
    prev_hash: str
    hash: str
    exchange_id: str
    time: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    side: AuditSide
    caller: str
    callee: str
    method: str
    purpose: str
    decision: AuditDecision
    rule: str
    status: str
    mappings: _containers.RepeatedScalarFieldContainer[str]
    request: AuditPayload
    response: AuditPayload
    config_version: int
    config_revision: int
    def __init__(self, seq: _Optional[int] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ..., exchange_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., side: _Optional[_Union[AuditSide, str]] = ..., caller: _Optional[str] = ..., callee: _Optional[str] = ..., method: _Optional[str] = ..., purpose: _Optional[str] = ..., decision: _Optional[_Union[AuditDecision, str]] = ..., rule: _Optional[str] = ..., status: _Optional[str] = ..., mappings: _Optional[_Iterable[str]] = ..., request: _Optional[_Union[AuditPayload, _Mapping]] = ..., response: _Optional[_Union[AuditPayload, _Mapping]] = ..., config_version: _Optional[int] = ..., config_revision: _Optional[int] = ...) -> None: ...

class AuditPayload(_message.Message):
    __slots__ = ("sha256", "stream")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    stream: AuditStreamDigest
    def __init__(self, sha256: _Optional[str] = ..., stream: _Optional[_Union[AuditStreamDigest, _Mapping]] = ...) -> None: ...

class AuditStreamDigest(_message.Message):
    __slots__ = ("messages", "sha256")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    messages: int
    sha256: str
    def __init__(self, messages: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class AuditCheckpoint(_message.Message):
    __slots__ = ("log_id", "seq", "hash", "time", "signer_chain_pem", "signature")
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CHAIN_PEM_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    log_id: str
    seq: int
    hash: str
    time: _timestamp_pb2.Timestamp
    signer_chain_pem: str
    signature: bytes
    def __init__(self, log_id: _Optional[str] = ..., seq: _Optional[int] = ..., hash: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signer_chain_pem: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class AuditCheckpoints(_message.Message):
    __slots__ = ("checkpoints",)
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[AuditCheckpoint]
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[AuditCheckpoint, _Mapping]]] = ...) -> None: ...
