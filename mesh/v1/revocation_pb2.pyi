from mesh.v1 import signed_pb2 as _signed_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RevokeRequest(_message.Message):
    __slots__ = ("spiffe_ids", "reason")
    SPIFFE_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    spiffe_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, spiffe_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ReinstateRequest(_message.Message):
    __slots__ = ("spiffe_ids",)
    SPIFFE_IDS_FIELD_NUMBER: _ClassVar[int]
    spiffe_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, spiffe_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListDeniedRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DenyListResponse(_message.Message):
    __slots__ = ("deny_list", "config_version")
    DENY_LIST_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    deny_list: _signed_pb2.DenyList
    config_version: int
    def __init__(self, deny_list: _Optional[_Union[_signed_pb2.DenyList, _Mapping]] = ..., config_version: _Optional[int] = ...) -> None: ...
