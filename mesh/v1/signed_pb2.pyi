import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedValue(_message.Message):
    __slots__ = ("key", "version", "kind", "payload", "key_id", "signature")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    key: str
    version: int
    kind: str
    payload: bytes
    key_id: str
    signature: bytes
    def __init__(self, key: _Optional[str] = ..., version: _Optional[int] = ..., kind: _Optional[str] = ..., payload: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ConfigHead(_message.Message):
    __slots__ = ("version", "digest", "count", "applied_at")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    version: int
    digest: bytes
    count: int
    applied_at: _timestamp_pb2.Timestamp
    def __init__(self, version: _Optional[int] = ..., digest: _Optional[bytes] = ..., count: _Optional[int] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TrustBundle(_message.Message):
    __slots__ = ("roots_pem",)
    ROOTS_PEM_FIELD_NUMBER: _ClassVar[int]
    roots_pem: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, roots_pem: _Optional[_Iterable[bytes]] = ...) -> None: ...

class DenyList(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[DeniedIdentity]
    def __init__(self, entries: _Optional[_Iterable[_Union[DeniedIdentity, _Mapping]]] = ...) -> None: ...

class DeniedIdentity(_message.Message):
    __slots__ = ("spiffe_id", "reason", "denied_at")
    SPIFFE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DENIED_AT_FIELD_NUMBER: _ClassVar[int]
    spiffe_id: str
    reason: str
    denied_at: _timestamp_pb2.Timestamp
    def __init__(self, spiffe_id: _Optional[str] = ..., reason: _Optional[str] = ..., denied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StoredSnapshot(_message.Message):
    __slots__ = ("revision", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    REVISION_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    revision: int
    values: _containers.ScalarMap[str, bytes]
    def __init__(self, revision: _Optional[int] = ..., values: _Optional[_Mapping[str, bytes]] = ...) -> None: ...

class StoredDelta(_message.Message):
    __slots__ = ("from_revision", "revision", "puts", "deletes")
    class PutsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PUTS_FIELD_NUMBER: _ClassVar[int]
    DELETES_FIELD_NUMBER: _ClassVar[int]
    from_revision: int
    revision: int
    puts: _containers.ScalarMap[str, bytes]
    deletes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, from_revision: _Optional[int] = ..., revision: _Optional[int] = ..., puts: _Optional[_Mapping[str, bytes]] = ..., deletes: _Optional[_Iterable[str]] = ...) -> None: ...
