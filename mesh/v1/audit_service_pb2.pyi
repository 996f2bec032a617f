from mesh.v1 import audit_pb2 as _audit_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitCheckpointResponse(_message.Message):
    __slots__ = ("witnessed_seq", "already_held")
    WITNESSED_SEQ_FIELD_NUMBER: _ClassVar[int]
    ALREADY_HELD_FIELD_NUMBER: _ClassVar[int]
    witnessed_seq: int
    already_held: bool
    def __init__(self, witnessed_seq: _Optional[int] = ..., already_held: _Optional[bool] = ...) -> None: ...

class ListCheckpointsRequest(_message.Message):
    __slots__ = ("spiffe_id", "log_id", "latest_only")
    SPIFFE_ID_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    LATEST_ONLY_FIELD_NUMBER: _ClassVar[int]
    spiffe_id: str
    log_id: str
    latest_only: bool
    def __init__(self, spiffe_id: _Optional[str] = ..., log_id: _Optional[str] = ..., latest_only: _Optional[bool] = ...) -> None: ...
