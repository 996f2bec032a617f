import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mesh.v1 import access_policy_pb2 as _access_policy_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApplyAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPLY_ACTION_UNSPECIFIED: _ClassVar[ApplyAction]
    APPLY_ACTION_CREATED: _ClassVar[ApplyAction]
    APPLY_ACTION_CONFIGURED: _ClassVar[ApplyAction]
    APPLY_ACTION_UNCHANGED: _ClassVar[ApplyAction]
    APPLY_ACTION_DELETED: _ClassVar[ApplyAction]
APPLY_ACTION_UNSPECIFIED: ApplyAction
APPLY_ACTION_CREATED: ApplyAction
APPLY_ACTION_CONFIGURED: ApplyAction
APPLY_ACTION_UNCHANGED: ApplyAction
APPLY_ACTION_DELETED: ApplyAction

class Document(_message.Message):
    __slots__ = ("source", "text")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    source: str
    text: str
    def __init__(self, source: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ("documents", "dry_run")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    dry_run: bool
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class ApplyResponse(_message.Message):
    __slots__ = ("results", "config_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ApplyResult]
    config_version: int
    def __init__(self, results: _Optional[_Iterable[_Union[ApplyResult, _Mapping]]] = ..., config_version: _Optional[int] = ...) -> None: ...

class ApplyResult(_message.Message):
    __slots__ = ("kind", "org", "name", "action", "object_json", "previous_json")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ORG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_JSON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_JSON_FIELD_NUMBER: _ClassVar[int]
    kind: str
    org: str
    name: str
    action: ApplyAction
    object_json: str
    previous_json: str
    def __init__(self, kind: _Optional[str] = ..., org: _Optional[str] = ..., name: _Optional[str] = ..., action: _Optional[_Union[ApplyAction, str]] = ..., object_json: _Optional[str] = ..., previous_json: _Optional[str] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("kind", "org", "name")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ORG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    org: str
    name: str
    def __init__(self, kind: _Optional[str] = ..., org: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("objects_json", "config_version")
    OBJECTS_JSON_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    objects_json: _containers.RepeatedScalarFieldContainer[str]
    config_version: int
    def __init__(self, objects_json: _Optional[_Iterable[str]] = ..., config_version: _Optional[int] = ...) -> None: ...

class ObjectRef(_message.Message):
    __slots__ = ("kind", "org", "name")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ORG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    org: str
    name: str
    def __init__(self, kind: _Optional[str] = ..., org: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("objects", "dry_run")
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    objects: _containers.RepeatedCompositeFieldContainer[ObjectRef]
    dry_run: bool
    def __init__(self, objects: _Optional[_Iterable[_Union[ObjectRef, _Mapping]]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("results", "config_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ApplyResult]
    config_version: int
    def __init__(self, results: _Optional[_Iterable[_Union[ApplyResult, _Mapping]]] = ..., config_version: _Optional[int] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("object",)
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    object: ObjectRef
    def __init__(self, object: _Optional[_Union[ObjectRef, _Mapping]] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("config_version", "action", "updated_by", "applied_at", "object_json")
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_JSON_FIELD_NUMBER: _ClassVar[int]
    config_version: int
    action: ApplyAction
    updated_by: str
    applied_at: _timestamp_pb2.Timestamp
    object_json: str
    def __init__(self, config_version: _Optional[int] = ..., action: _Optional[_Union[ApplyAction, str]] = ..., updated_by: _Optional[str] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., object_json: _Optional[str] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("object", "to_config_version", "dry_run")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    TO_CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    object: ObjectRef
    to_config_version: int
    dry_run: bool
    def __init__(self, object: _Optional[_Union[ObjectRef, _Mapping]] = ..., to_config_version: _Optional[int] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("caller", "method", "purpose")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    caller: str
    method: str
    purpose: str
    def __init__(self, caller: _Optional[str] = ..., method: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("allowed", "reason", "detail", "provider", "policy_org", "policy", "rule", "field_grant", "rate_limit", "config_version")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    POLICY_ORG_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    FIELD_GRANT_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: str
    detail: str
    provider: str
    policy_org: str
    policy: str
    rule: str
    field_grant: _access_policy_pb2.FieldGrant
    rate_limit: _access_policy_pb2.RateLimit
    config_version: int
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ..., provider: _Optional[str] = ..., policy_org: _Optional[str] = ..., policy: _Optional[str] = ..., rule: _Optional[str] = ..., field_grant: _Optional[_Union[_access_policy_pb2.FieldGrant, _Mapping]] = ..., rate_limit: _Optional[_Union[_access_policy_pb2.RateLimit, _Mapping]] = ..., config_version: _Optional[int] = ...) -> None: ...

class SidecarStatus(_message.Message):
    __slots__ = ("spiffe_id", "instance", "applied_version", "config_hash", "last_error", "certificate_expiry", "reported_at", "source", "counters")
    class CountersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SPIFFE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_EXPIRY_FIELD_NUMBER: _ClassVar[int]
    REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    spiffe_id: str
    instance: str
    applied_version: int
    config_hash: str
    last_error: str
    certificate_expiry: _timestamp_pb2.Timestamp
    reported_at: _timestamp_pb2.Timestamp
    source: str
    counters: _containers.ScalarMap[str, int]
    def __init__(self, spiffe_id: _Optional[str] = ..., instance: _Optional[str] = ..., applied_version: _Optional[int] = ..., config_hash: _Optional[str] = ..., last_error: _Optional[str] = ..., certificate_expiry: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., counters: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ReportResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStatusResponse(_message.Message):
    __slots__ = ("sidecars", "config_version")
    SIDECARS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    sidecars: _containers.RepeatedCompositeFieldContainer[SidecarStatus]
    config_version: int
    def __init__(self, sidecars: _Optional[_Iterable[_Union[SidecarStatus, _Mapping]]] = ..., config_version: _Optional[int] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("token", "csr_pem")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    token: str
    csr_pem: bytes
    def __init__(self, token: _Optional[str] = ..., csr_pem: _Optional[bytes] = ...) -> None: ...

class RenewRequest(_message.Message):
    __slots__ = ("csr_pem",)
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    csr_pem: bytes
    def __init__(self, csr_pem: _Optional[bytes] = ...) -> None: ...

class CertificateResponse(_message.Message):
    __slots__ = ("certificate_chain_pem", "trust_bundle_pem", "spiffe_id", "not_after")
    CERTIFICATE_CHAIN_PEM_FIELD_NUMBER: _ClassVar[int]
    TRUST_BUNDLE_PEM_FIELD_NUMBER: _ClassVar[int]
    SPIFFE_ID_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    certificate_chain_pem: bytes
    trust_bundle_pem: bytes
    spiffe_id: str
    not_after: _timestamp_pb2.Timestamp
    def __init__(self, certificate_chain_pem: _Optional[bytes] = ..., trust_bundle_pem: _Optional[bytes] = ..., spiffe_id: _Optional[str] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateJoinTokenRequest(_message.Message):
    __slots__ = ("spiffe_id", "ttl")
    SPIFFE_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    spiffe_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, spiffe_id: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreateJoinTokenResponse(_message.Message):
    __slots__ = ("token", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JoinTokenRecord(_message.Message):
    __slots__ = ("spiffe_id", "expires_at", "created_by")
    SPIFFE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    spiffe_id: str
    expires_at: _timestamp_pb2.Timestamp
    created_by: str
    def __init__(self, spiffe_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...
