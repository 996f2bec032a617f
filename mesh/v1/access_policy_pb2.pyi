from mesh.v1 import meta_pb2 as _meta_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FieldGrantMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_GRANT_MODE_UNSPECIFIED: _ClassVar[FieldGrantMode]
    FIELD_GRANT_MODE_REMOVE: _ClassVar[FieldGrantMode]
    FIELD_GRANT_MODE_MASK: _ClassVar[FieldGrantMode]
FIELD_GRANT_MODE_UNSPECIFIED: FieldGrantMode
FIELD_GRANT_MODE_REMOVE: FieldGrantMode
FIELD_GRANT_MODE_MASK: FieldGrantMode

class AccessPolicy(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: AccessPolicySpec
    status: _meta_pb2.Status
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[AccessPolicySpec, _Mapping]] = ..., status: _Optional[_Union[_meta_pb2.Status, _Mapping]] = ...) -> None: ...

class AccessPolicySpec(_message.Message):
    __slots__ = ("system", "rules")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    system: str
    rules: _containers.RepeatedCompositeFieldContainer[AccessRule]
    def __init__(self, system: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[AccessRule, _Mapping]]] = ...) -> None: ...

class AccessRule(_message.Message):
    __slots__ = ("name", "callers", "methods", "purposes", "purpose_required", "field_grant", "rate_limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CALLERS_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    FIELD_GRANT_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    callers: Callers
    methods: _containers.RepeatedScalarFieldContainer[str]
    purposes: _containers.RepeatedScalarFieldContainer[str]
    purpose_required: bool
    field_grant: FieldGrant
    rate_limit: RateLimit
    def __init__(self, name: _Optional[str] = ..., callers: _Optional[_Union[Callers, _Mapping]] = ..., methods: _Optional[_Iterable[str]] = ..., purposes: _Optional[_Iterable[str]] = ..., purpose_required: _Optional[bool] = ..., field_grant: _Optional[_Union[FieldGrant, _Mapping]] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ...) -> None: ...

class Callers(_message.Message):
    __slots__ = ("spiffe_ids", "org", "systems")
    SPIFFE_IDS_FIELD_NUMBER: _ClassVar[int]
    ORG_FIELD_NUMBER: _ClassVar[int]
    SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    spiffe_ids: _containers.RepeatedScalarFieldContainer[str]
    org: str
    systems: _containers.RepeatedCompositeFieldContainer[SystemRef]
    def __init__(self, spiffe_ids: _Optional[_Iterable[str]] = ..., org: _Optional[str] = ..., systems: _Optional[_Iterable[_Union[SystemRef, _Mapping]]] = ...) -> None: ...

class SystemRef(_message.Message):
    __slots__ = ("org", "name")
    ORG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    org: str
    name: str
    def __init__(self, org: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class FieldGrant(_message.Message):
    __slots__ = ("mode", "fields")
    MODE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    mode: FieldGrantMode
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mode: _Optional[_Union[FieldGrantMode, str]] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class RateLimit(_message.Message):
    __slots__ = ("requests_per_second", "burst")
    REQUESTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    requests_per_second: float
    burst: int
    def __init__(self, requests_per_second: _Optional[float] = ..., burst: _Optional[int] = ...) -> None: ...
