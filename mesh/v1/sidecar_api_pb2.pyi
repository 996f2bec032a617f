from mesh.v1 import access_policy_pb2 as _access_policy_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AllowedMethodsRequest(_message.Message):
    __slots__ = ("grpc_service",)
    GRPC_SERVICE_FIELD_NUMBER: _ClassVar[int]
    grpc_service: str
    def __init__(self, grpc_service: _Optional[str] = ...) -> None: ...

class AllowedMethodsResponse(_message.Message):
    __slots__ = ("consumer", "methods", "config_version")
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    consumer: str
    methods: _containers.RepeatedCompositeFieldContainer[AllowedMethod]
    config_version: int
    def __init__(self, consumer: _Optional[str] = ..., methods: _Optional[_Iterable[_Union[AllowedMethod, _Mapping]]] = ..., config_version: _Optional[int] = ...) -> None: ...

class AllowedMethod(_message.Message):
    __slots__ = ("method", "provider", "purposes", "purpose_required", "field_grant", "rate_limit")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    FIELD_GRANT_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    method: str
    provider: str
    purposes: _containers.RepeatedScalarFieldContainer[str]
    purpose_required: bool
    field_grant: _access_policy_pb2.FieldGrant
    rate_limit: _access_policy_pb2.RateLimit
    def __init__(self, method: _Optional[str] = ..., provider: _Optional[str] = ..., purposes: _Optional[_Iterable[str]] = ..., purpose_required: _Optional[bool] = ..., field_grant: _Optional[_Union[_access_policy_pb2.FieldGrant, _Mapping]] = ..., rate_limit: _Optional[_Union[_access_policy_pb2.RateLimit, _Mapping]] = ...) -> None: ...
